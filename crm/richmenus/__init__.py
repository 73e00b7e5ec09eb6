"""Rich menus (リッチメニュー): builder, images, publishing to LINE and per-tag rules."""
