// Cascading field-code choices: each select[data-field-code] (all paths, "A / A1") gets one
// <select> per level, filled from /crm/fieldcodes/<id>/children/; the chosen path is written back.
(function () {
  const SEP = " / ";
  function levelSelect(cls) {
    const s = document.createElement("select");
    s.className = cls + " mt-1";
    return s;
  }
  async function children(code, parent) {
    const url = `/crm/fieldcodes/${code}/children/` + (parent ? `?parent=${parent}` : "");
    const r = await fetch(url, { credentials: "same-origin" });
    return r.ok ? (await r.json()).values : [];
  }
  async function setup(orig) {
    const code = orig.dataset.fieldCode;
    const box = document.createElement("div");
    orig.after(box);
    orig.hidden = true;
    const wanted = (orig.value || "").split(SEP).filter(Boolean);
    // Each choice starts a new generation: a level still loading for an older choice is dropped
    // when its values arrive, and every select reacts to a change as soon as it is shown (not
    // only once the levels below it have loaded).
    let generation = 0;
    async function addLevel(depth, parentId, path, gen) {
      while (box.children.length > depth) box.lastChild.remove();
      const values = await children(code, parentId);
      if (gen !== generation || !values.length) return;
      const sel = levelSelect(orig.className.replace("field-code", "").trim() || "form-select form-select-sm");
      sel.add(new Option("---------", ""));
      values.forEach((v) => { const o = new Option(v.value, v.id); o.dataset.value = v.value; sel.add(o); });
      box.append(sel);
      sel.addEventListener("change", () => {
        generation += 1;
        const opt = sel.selectedOptions[0];
        const chosen = opt && opt.value ? path.concat(opt.dataset.value) : path;
        orig.value = chosen.join(SEP);
        wanted.length = 0;
        while (box.children.length > depth + 1) box.lastChild.remove();
        if (opt && opt.value) addLevel(depth + 1, opt.value, chosen, generation);
      });
      const pre = values.find((v) => v.value === wanted[depth]);
      if (pre) { sel.value = pre.id; await addLevel(depth + 1, pre.id, path.concat(pre.value), gen); }
    }
    addLevel(0, null, [], generation);
  }
  document.querySelectorAll("select[data-field-code]").forEach(setup);
})();
