// Segment builder: edits the condition tree kept as JSON in #segment-tree and shows the live count.
// Groups are "all", "any" and "not" (shown as "none of these": not(any(...)), or not(x) for one condition).
// Conditions other features registered (conversions, RFM) come with their inputs in opts.registered; their
// names and words are in T under their type and "type.key".
(function () {
  "use strict";
  var root = document.getElementById("segment-builder");
  var textarea = document.getElementById("segment-tree");
  if (!root || !textarea) { return; }
  var T = JSON.parse(document.getElementById("segment-i18n").textContent);
  var form = document.getElementById("segment-form");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var output = document.getElementById("segment-count");
  var LEAVES = ["tag", "field", "answer", "clicked_link", "clicked_broadcast", "followed", "followed_within",
                "interaction", "status", "attention", "route"];
  var opts = {tags: [], fields: [], questions: [], links: [], broadcasts: [], routes: [], registered: []};
  var registered = {};  // opts.registered by type
  var model;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function select(label, choices, value, onChange) {
    // choices: [[value, text], ...]; a placeholder when the value is not among them
    var box = el("select", {"aria-label": label});
    var known = choices.some(function (c) { return String(c[0]) === String(value); });
    if (!known) { box.appendChild(el("option", {value: "", text: T.choose})); }
    choices.forEach(function (c) {
      var option = el("option", {value: String(c[0]), text: c[1]});
      if (String(c[0]) === String(value)) { option.selected = true; }
      box.appendChild(option);
    });
    box.addEventListener("change", function () { onChange(box.value); });
    return box;
  }

  function input(label, type, value, onInput) {
    var box = el("input", {type: type, "aria-label": label});
    if (type === "number") { box.setAttribute("step", "any"); }
    box.value = value === undefined || value === null ? "" : value;
    box.addEventListener("input", function () { onInput(box.value); });
    return box;
  }

  // --- the UI model: groups {group: "all"|"any"|"not", children: [...]}, leaves as in the JSON ---
  function fromTree(node) {
    if (node.type === "all" || node.type === "any") {
      return {group: node.type, children: (node.conditions || []).map(fromTree)};
    }
    if (node.type === "not") {
      var inner = node.condition || {type: "all", conditions: []};
      var children = inner.type === "any" ? inner.conditions.map(fromTree) : [fromTree(inner)];
      return {group: "not", children: children};
    }
    return node;
  }

  function toTree(node) {
    if (!node.group) { return node; }
    var children = node.children.map(toTree);
    if (node.group !== "not") { return {type: node.group, conditions: children}; }
    return {type: "not", condition: children.length === 1 ? children[0] : {type: "any", conditions: children}};
  }

  function newLeaf(type) {
    var first = function (list, key) { return list.length ? list[0][key] : ""; };
    switch (type) {
      case "tag": return {type: type, tag_id: first(opts.tags, "id")};
      case "field":
        var f = opts.fields[0];
        return {type: type, key: f ? f.key : "", op: "eq", value: f && f.choices.length ? f.choices[0] : ""};
      case "answer":
        var q = opts.questions[0];
        return {type: type, question_id: q ? q.id : "", choice_id: q && q.choices.length ? q.choices[0].id : ""};
      case "clicked_link": return {type: type, link_id: first(opts.links, "id")};
      case "clicked_broadcast": return {type: type, broadcast_id: first(opts.broadcasts, "id")};
      case "followed": return {type: type, op: "after", at: ""};
      case "followed_within": return {type: type, days: 30};
      case "interaction": return {type: type, op: "older", days: 30};
      case "attention": return {type: type, value: "needed"};
      case "route": return {type: type, route_id: first(opts.routes, "id"), which: "any"};
      case "status": return {type: "status", value: "following"};
      default: return registeredLeaf(type);
    }
  }

  function registeredLeaf(type) {
    var spec = registered[type];
    var leaf = {type: type};  // the keys in the order the inputs show them
    spec.keys.forEach(function (key) {
      if (key in spec.default) { leaf[key] = JSON.parse(JSON.stringify(spec.default[key])); }
    });
    if (spec.kind === "choice_days" && leaf[spec.keys[0]] === "" && spec.options.length) {
      leaf[spec.keys[0]] = spec.options[0].id;
    }
    return leaf;
  }

  function leafTypes() {
    return LEAVES.concat(opts.registered.map(function (spec) { return spec.type; }));
  }

  // --- rendering ---
  function render() {
    root.textContent = "";
    root.appendChild(renderGroup(model, null));
    changed();
  }

  function renderGroup(group, parent) {
    var head = el("div", {"class": "segment-group-head"}, [
      select(T.all, [["all", T.all], ["any", T.any], ["not", T.not]], group.group,
             function (v) { group.group = v; render(); })]);
    var list = el("ul", {"class": "segment-children"});
    group.children.forEach(function (child, index) {
      var remove = el("button", {type: "button", "class": "link segment-remove", text: T.remove});
      remove.addEventListener("click", function () { group.children.splice(index, 1); render(); });
      var body = child.group ? renderGroup(child, group) : renderLeaf(child, group, index);
      list.appendChild(el("li", {"class": "segment-item"}, [body, remove]));
    });
    var addLeaf = el("button", {type: "button", "class": "segment-add-condition", text: T.add_condition});
    addLeaf.addEventListener("click", function () { group.children.push(newLeaf("tag")); render(); });
    var addGroup = el("button", {type: "button", "class": "segment-add-group", text: T.add_group});
    addGroup.addEventListener("click", function () {
      group.children.push({group: "any", children: [newLeaf("tag")]}); render();
    });
    return el("div", {"class": "segment-group"}, [head, list, el("div", {"class": "segment-actions"},
                                                                   [addLeaf, addGroup])]);
  }

  function renderLeaf(leaf, group, index) {
    if (leafTypes().indexOf(leaf.type) < 0) {
      return el("div", {"class": "segment-leaf", "data-type": leaf.type}, leafInputs(leaf));
    }
    var type = select(T.choose, leafTypes().map(function (t) { return [t, T[t]]; }), leaf.type, function (v) {
      group.children[index] = newLeaf(v); render();
    });
    type.classList.add("segment-type");
    return el("div", {"class": "segment-leaf", "data-type": leaf.type}, [type].concat(leafInputs(leaf)));
  }

  function set(leaf, key, rerender) {
    return function (value) { leaf[key] = value; if (rerender) { render(); } else { changed(); } };
  }

  function leafInputs(leaf) {
    switch (leaf.type) {
      case "tag":
        return [select(T.tag, opts.tags.map(function (t) { return [t.id, t.name]; }), leaf.tag_id, set(leaf, "tag_id"))];
      case "field": return fieldInputs(leaf);
      case "answer": return answerInputs(leaf);
      case "clicked_link":
        return [select(T.clicked_link, opts.links.map(function (l) { return [l.id, "#" + l.id + " " + l.destination]; }),
                       leaf.link_id, set(leaf, "link_id"))];
      case "clicked_broadcast":
        return [select(T.clicked_broadcast, opts.broadcasts.map(function (b) { return [b.id, b.name]; }),
                       leaf.broadcast_id, set(leaf, "broadcast_id"))];
      case "followed":
        return [select(T.followed, [["before", T.before], ["after", T.after]], leaf.op, set(leaf, "op")),
                input(T.followed, "datetime-local", (leaf.at || "").slice(0, 16), set(leaf, "at"))];
      case "followed_within":
        return [input(T.days, "number", leaf.days, set(leaf, "days")), el("span", {text: T.days})];
      case "interaction":
        // "30 days [or more ago | or less ago]": the number first, as people say it.
        return [input(T.days, "number", leaf.days, set(leaf, "days")), el("span", {text: T.days}),
                select(T.interaction, [["older", T.older], ["newer", T.newer]], leaf.op, set(leaf, "op"))];
      case "attention":
        return [select(T.attention, [["needed", T.needed], ["in_progress", T.in_progress], ["done", T.done],
                                     ["none", T.no_mark]], leaf.value, set(leaf, "value"))];
      case "route":
        return [select(T.route, opts.routes.map(function (r) { return [r.id, r.name]; }), leaf.route_id,
                       set(leaf, "route_id")),
                select(T.route, [["any", T.route_any], ["first", T.route_first]], leaf.which || "any",
                       set(leaf, "which"))];
      case "status":
        return [select(T.status, [["following", T.following], ["blocked", T.blocked]], leaf.value, set(leaf, "value"))];
      default:
        if (registered[leaf.type]) { return registeredInputs(leaf, registered[leaf.type]); }
        // A condition nobody offers inputs for: kept as it is, shown as its JSON.
        return [el("code", {"class": "segment-other", text: JSON.stringify(leaf)})];
    }
  }

  function whole(value) {
    // numbers typed or picked are sent as numbers; anything else is left for the server to point out
    return /^\d+$/.test(String(value).trim()) ? Number(value) : value;
  }

  function numberChoices(spec) {
    var choices = [];
    for (var n = spec.low; n <= spec.high; n++) { choices.push([n, String(n)]); }
    return choices;
  }

  function wholeInput(leaf, key) {
    var box = input(T[leaf.type + "." + key] || T[leaf.type], "number", leaf[key], function (v) {
      leaf[key] = whole(v); changed();
    });
    box.setAttribute("step", "1");
    box.setAttribute("min", "0");
    box.setAttribute("data-key", key);
    return box;
  }

  function word(leaf, key) {
    var text = T[leaf.type + "." + key];
    return text ? el("span", {text: text}) : null;
  }

  function registeredInputs(leaf, spec) {
    var keys = spec.keys;
    var label = T[leaf.type];
    switch (spec.kind) {
      case "choice_days":
        return [select(label, spec.options.map(function (o) { return [o.id, o.name]; }), leaf[keys[0]],
                       function (v) { leaf[keys[0]] = whole(v); changed(); }),
                wholeInput(leaf, keys[1]), word(leaf, keys[1])];
      case "amount":
        return [wholeInput(leaf, keys[0]), word(leaf, keys[0])];
      case "ranges":
        return keys.reduce(function (parts, key) {
          if (!Array.isArray(leaf[key])) { leaf[key] = [spec.low, spec.high]; }  // an absent key: any score
          var pair = leaf[key];
          var side = function (i) {
            var box = select(T[leaf.type + "." + key] || label, numberChoices(spec), pair[i], function (v) {
              pair[i] = whole(v); changed();
            });
            box.setAttribute("data-key", key);
            return box;
          };
          var range = el("span", {"class": "segment-range"}, [word(leaf, key), side(0), el("span", {text: T.range_to}),
                                                               side(1)]);
          return parts.concat([range]);
        }, []);
      case "number":
        return [select(label, numberChoices(spec), leaf[keys[0]], function (v) { leaf[keys[0]] = whole(v); changed(); }),
                word(leaf, keys[0])];
      default:
        return [el("code", {"class": "segment-other", text: JSON.stringify(leaf)})];
    }
  }

  function fieldInputs(leaf) {
    var field = opts.fields.filter(function (f) { return f.key === leaf.key; })[0];
    var parts = [select(T.field, opts.fields.map(function (f) { return [f.key, f.label]; }), leaf.key, function (v) {
      leaf.key = v; leaf.op = "eq"; leaf.value = ""; render();
    })];
    if (!field) { return parts; }
    parts.push(select(T.field, field.ops.map(function (op) { return [op, T[op]]; }), leaf.op, set(leaf, "op", true)));
    if (leaf.op === "empty") { delete leaf.value; return parts; }
    if (field.type === "choice" && leaf.op !== "contains") {
      parts.push(select(T.field, field.choices.map(function (c) { return [c, c]; }), leaf.value, set(leaf, "value")));
    } else {
      var kind = field.type === "number" ? "number" : field.type === "date" ? "date" : "text";
      parts.push(input(T.field, kind, leaf.value, set(leaf, "value")));
    }
    return parts;
  }

  function answerInputs(leaf) {
    var question = opts.questions.filter(function (q) { return String(q.id) === String(leaf.question_id); })[0];
    var label = function (q) { return q.survey + " (v" + q.version + "): " + q.text; };
    var parts = [select(T.answer, opts.questions.map(function (q) { return [q.id, label(q)]; }), leaf.question_id,
                        function (v) { leaf.question_id = v; leaf.choice_id = ""; render(); })];
    if (question) {
      parts.push(select(T.answer, question.choices.map(function (c) { return [c.id, c.label]; }), leaf.choice_id,
                        set(leaf, "choice_id")));
    }
    return parts;
  }

  // --- syncing the JSON field and the live count ---
  var timer = null;
  var sequence = 0;

  function changed() {
    textarea.value = JSON.stringify(toTree(model));
    clearTimeout(timer);
    timer = setTimeout(refreshCount, 300);
  }

  function refreshCount() {
    var mine = ++sequence;
    output.textContent = T.counting;
    output.classList.remove("error");
    fetch(root.dataset.countUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: textarea.value
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (result) {
      if (mine !== sequence) { return; }  // a newer edit is being counted
      if (result.ok) {
        output.textContent = T.count.replace("%(count)s", result.data.count.toLocaleString())
                                    .replace("%(all)s", result.data.all.toLocaleString());
        output.dataset.count = result.data.count;
      } else {
        output.textContent = result.data.error;
        output.classList.add("error");
        delete output.dataset.count;
      }
    }).catch(function () {
      if (mine === sequence) { output.textContent = T.broken; output.classList.add("error"); }
    });
  }

  function start() {
    var tree;
    try { tree = JSON.parse(textarea.value || "{}"); } catch (e) { return; }  // broken JSON: edit it by hand
    model = fromTree(tree);
    if (!model.group) { model = {group: "all", children: [model]}; }
    render();
  }

  textarea.addEventListener("change", start);  // JSON edited by hand: rebuild the builder from it

  fetch(root.dataset.optionsUrl, {credentials: "same-origin"})
    .then(function (response) { return response.json(); })
    .then(function (data) {
      opts = data;
      (opts.registered || []).forEach(function (spec) { registered[spec.type] = spec; });
      opts.registered = opts.registered || [];
      start();
    });
}());
