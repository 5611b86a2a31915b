// Show each <time data-local> in the browser's own time zone. The page says the
// moment in UTC (so it is right without this script); this only translates it.
(() => {
  "use strict";
  const styles = {
    datetime: { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    "day-time": { day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" },
  };
  document.querySelectorAll("time[data-local]").forEach((node) => {
    const when = new Date(node.dateTime);
    const options = styles[node.dataset.local];
    if (Number.isNaN(when.getTime()) || !options) return;
    const parts = new Intl.DateTimeFormat("en-GB", options).formatToParts(when);
    const part = (type) => parts.find((p) => p.type === type)?.value ?? "";
    const date = `${part("day")} ${part("month")}${options.year ? ` ${part("year")}` : ""}`;
    const time = `${part("hour")}:${part("minute")}`;
    node.textContent = options.year ? `${date}, ${time} ${part("timeZoneName")}` : `${date} at ${time}`;
    node.title = `${when.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  });
})();
