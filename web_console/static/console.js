// Live job progress: every element with data-job-events follows the job's server-sent events and updates the
// cells inside it that name a field (data-field="state", "stage", "done", ...). Text only: values are set with
// textContent, never as markup.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-job-events]")) {
    const source = new EventSource(box.getAttribute("data-job-events"));
    const set = (name, value) => {
      for (const cell of box.querySelectorAll(`[data-field="${name}"]`)) {
        cell.textContent = String(value);
        if (name === "state") cell.className = `state-${value}`;
      }
    };
    source.addEventListener("progress", (event) => {
      const data = JSON.parse(event.data);
      for (const [name, value] of Object.entries(data)) set(name, value);
      const bar = box.querySelector("progress[data-current]");
      if (bar && data.total > 0) { bar.max = data.total; bar.value = data.done; }
      // the stage this event is about, in the per-stage table (the stages run at once, as a stream)
      const row = data.stage ? box.querySelector(`[data-stage-row="${CSS.escape(data.stage)}"]`) : null;
      if (row && data.total > 0) {
        row.querySelector("[data-stage-field=done]").textContent = String(data.done);
        row.querySelector("[data-stage-field=total]").textContent = String(data.total);
        const stageBar = row.querySelector("progress");
        stageBar.max = data.total;
        stageBar.value = data.done;
      }
    });
    source.addEventListener("end", (event) => {
      const data = JSON.parse(event.data);
      for (const [name, value] of Object.entries(data)) set(name, value);
      source.close();
      box.setAttribute("data-ended", "true");
    });
    source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) box.setAttribute("data-ended", "true"); });
  }
});
