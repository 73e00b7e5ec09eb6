// The chat page (/chat): new talk items appear without reloading (short polling with a cursor), older ones on
// request, replies are sent in place (the quota figure follows), and the conversation list stays current.
"use strict";

(function () {
  const JSON_HEADERS = { Accept: "application/json" };

  function fetchJson(url, options) {
    return fetch(url, Object.assign({ credentials: "same-origin", headers: JSON_HEADERS }, options)).then(
      function (response) {
        return response.json().then(function (body) {
          return { status: response.status, body: body };
        });
      }
    );
  }

  // Parse an HTML fragment of <li data-key> items, dropping those already shown.
  function newItems(html, list) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    return Array.from(holder.content.querySelectorAll("li[data-key]")).filter(function (item) {
      return !list.querySelector('li[data-key="' + CSS.escape(item.dataset.key) + '"]');
    });
  }

  function setUpTalk(talk) {
    const list = talk.querySelector("[data-talk-items]");
    const scroller = talk.querySelector("[data-talk-scroll]");
    const olderButton = talk.querySelector("[data-older]");
    const itemsUrl = talk.dataset.itemsUrl;
    const pollMs = Number(talk.dataset.pollSeconds || 4) * 1000;
    let after = talk.dataset.after;
    let before = talk.dataset.before;
    let polling = false;
    let pollAgain = false;
    let timer = null;

    scroller.scrollTop = scroller.scrollHeight;

    function nearBottom() {
      return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    }

    function schedule(ms) {
      clearTimeout(timer);
      timer = setTimeout(poll, ms);
    }

    function poll() {
      if (polling) {
        pollAgain = true;
        return;
      }
      if (document.hidden) {
        schedule(pollMs); // a tab in the background asks nothing; it catches up when shown again
        return;
      }
      if (!after) {
        after = new Date(0).toISOString() + "|start|0";
      }
      polling = true;
      fetchJson(itemsUrl + "?after=" + encodeURIComponent(after))
        .then(function (result) {
          if (result.status !== 200) {
            return;
          }
          const stick = nearBottom();
          newItems(result.body.html, list).forEach(function (item) {
            list.appendChild(item);
          });
          after = result.body.cursor;
          const empty = talk.querySelector("[data-talk-empty]");
          if (empty && list.children.length) {
            empty.remove();
          }
          if (stick) {
            scroller.scrollTop = scroller.scrollHeight;
          }
          if (result.body.more) {
            pollAgain = true;
          }
        })
        .catch(function () {})
        .finally(function () {
          polling = false;
          schedule(pollAgain ? 0 : pollMs);
          pollAgain = false;
        });
    }

    if (olderButton) {
      olderButton.addEventListener("click", function () {
        olderButton.disabled = true;
        fetchJson(itemsUrl + "?before=" + encodeURIComponent(before))
          .then(function (result) {
            if (result.status !== 200) {
              return;
            }
            const height = scroller.scrollHeight;
            newItems(result.body.html, list)
              .reverse()
              .forEach(function (item) {
                list.insertBefore(item, list.firstChild);
              });
            before = result.body.cursor;
            scroller.scrollTop += scroller.scrollHeight - height; // keep what was on screen in place
            olderButton.hidden = !result.body.more;
          })
          .catch(function () {})
          .finally(function () {
            olderButton.disabled = false;
          });
      });
    }

    const form = talk.querySelector("[data-reply-form]");
    if (form) {
      setUpReply(form, talk, function () {
        schedule(0);
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        schedule(0);
      }
    });
    schedule(pollMs);
  }

  function setUpReply(form, talk, refresh) {
    const error = form.querySelector("[data-reply-error]");
    const notice = form.querySelector("[data-reply-notice]");
    const button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      error.hidden = true;
      notice.hidden = true;
      fetchJson(form.action, { method: "POST", body: new FormData(form) })
        .then(function (result) {
          const body = result.body;
          if (!body.ok) {
            error.textContent = body.error;
            error.hidden = false;
            return;
          }
          form.elements.text.value = "";
          form.elements.retry_key.value = body.retry_key;
          notice.textContent = body.notice;
          notice.hidden = false;
          const quota = talk.querySelector("[data-quota-box]");
          if (quota) {
            quota.innerHTML = body.quota_html;
          }
          refresh();
        })
        .catch(function () {
          form.submit(); // the script could not send: let the browser send the form itself
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  }

  function setUpList(box) {
    const url = box.dataset.refreshUrl;
    const pollMs = Number(box.dataset.pollSeconds || 15) * 1000;
    setInterval(function () {
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== box.innerHTML) {
            box.innerHTML = html;
          }
        })
        .catch(function () {});
    }, pollMs);
  }

  const talk = document.querySelector("[data-talk]");
  if (talk) {
    setUpTalk(talk);
  }
  const listBox = document.querySelector("[data-conversation-list]");
  if (listBox) {
    setUpList(listBox);
  }
})();
