// The DPO's workspace: "Tick every suggested column on this page" ticks the checkboxes of the columns
// whose kind is only suggested, so the DPO can review them and confirm in one go. It only ticks boxes:
// nothing is classified until the DPO presses "Confirm selected suggestions".
(function () {
  "use strict";
  const button = document.getElementById("tick-suggested");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    const boxes = document.querySelectorAll("tr.col-suggested input[type=checkbox][form=bulk]");
    const tick = Array.prototype.some.call(boxes, function (b) { return !b.checked; });
    boxes.forEach(function (b) { b.checked = tick; });
    button.textContent = tick ? "Untick the suggested columns" : "Tick every suggested column on this page";
  });
})();
