// The directory of other services, shown on the options screen, while nobody can answer, when
// closed and when refused: regions, national lines (those open all day first out of hours) and
// the local ones. Other sites open in a tab that quick exit closes.
import { greeted, request } from "./connection.js";
import { openElsewhere } from "./quickexit.js";
import { withNumbersIsolated } from "./rtl.js";
import { CONFIG, T, say } from "./state.js";

function serviceItem(service) {
  const item = document.createElement("li");
  item.className = "service";
  const name = document.createElement("h3");
  name.textContent = service.name;
  name.dir = "auto";
  item.append(name);
  const details = document.createElement("dl");
  const add = (term, value, href) => {
    if (!value) return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    if (href && href.startsWith("tel:")) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = value;
      // A phone number reads left to right, isolated, inside right-to-left text.
      link.dir = "ltr";
      dd.append(link);
    } else if (href) {
      dd.append(elsewhereButton(value, href));
    } else { withNumbersIsolated(dd, value); dd.dir = "auto"; }
    details.append(dt, dd);
  };
  if (service.description) {
    const about = document.createElement("p");
    withNumbersIsolated(about, service.description);
    about.dir = "auto";
    item.append(about);
  }
  add(T.phone, service.phone, service.phone ? `tel:${service.phone.replace(/[^+\d]/g, "")}` : "");
  add(T.hours, service.open_24h ? T.open_24h : service.hours);
  add(T.address, service.address);
  if (service.map_url) add(T.map, T.map, service.map_url);
  add(T.contact, service.contact_route);
  if (service.website) add(T.website, new URL(service.website).host, service.website);
  if (service.kind === "refuge") add("", T.refuge_note);
  item.append(details);
  return item;
}

let elsewhereCount = 0;
// Another site opens in a tab we track, so that quick exit closes it; the visitor is told so.
function elsewhereButton(label, href) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link elsewhere";
  button.textContent = label;
  const hint = document.createElement("span");
  hint.className = "hint elsewhere-hint";
  hint.textContent = T.elsewhere;
  hint.id = `elsewhere-${++elsewhereCount}`;
  button.setAttribute("aria-describedby", hint.id);
  const status = document.createElement("span");
  status.setAttribute("role", "status");
  button.addEventListener("click", () => {
    status.textContent = openElsewhere(href) ? "" : say(T.not_opened, { address: href });
  });
  const wrapper = document.createElement("span");
  wrapper.append(button, hint, status);
  return wrapper;
}

function serviceList(heading, services) {
  const block = document.createElement("section");
  const title = document.createElement("h2");
  title.textContent = heading;
  const list = document.createElement("ul");
  list.className = "services";
  for (const service of services) list.append(serviceItem(service));
  block.append(title, list);
  return block;
}

export async function loadDirectory(region) {
  let directory;
  try {
    await greeted;
    directory = await request("directory.lookup", region ? { region, language: CONFIG.language } : { language: CONFIG.language });
  } catch (error) {
    for (const container of document.querySelectorAll("[data-directory]")) {
      const failed = document.createElement("p");
      failed.className = "error";
      failed.textContent = T.error_directory;
      container.replaceChildren(failed);
    }
    return;
  }
  for (const container of document.querySelectorAll("[data-directory]")) {
    container.replaceChildren();
    // Out of hours, the lines that answer now come first.
    const allDay = directory.national.filter((service) => service.open_24h);
    if (container.dataset.directory === "first-24h" && allDay.length) container.append(serviceList(T.lines_24h, allDay));
    if (directory.regions.length) {
      const label = document.createElement("label");
      label.textContent = `${T.choose_region} `;
      const select = document.createElement("select");
      select.append(new Option("—", ""));
      for (const r of directory.regions) select.append(new Option(r.name, r.slug, false, r.slug === region));
      select.addEventListener("change", () => loadDirectory(select.value || null));
      label.append(select);
      container.append(label);
    }
    if (directory.region) {
      container.append(serviceList(say(T.local, { region: directory.region.name }), directory.local));
    }
    if (directory.national.length) container.append(serviceList(T.national, directory.national));
    if (!directory.national.length && !directory.local.length) {
      const none = document.createElement("p");
      none.textContent = T.no_services;
      container.append(none);
    }
  }
}
