// Flow nodes (流程节点) edited in the browser: the simple builder page and the designer's side panel.
//
// A node travels as the contract describes it (docs/workflow-bpmn.md, in the builder's JSON shape:
// id, name, dispatch, assign[], states[], limit, warn_at, escalation, escalation_state, countersign).
// `edit` turns it into what the form binds to (limit as amount + unit, warn-at in percent, the
// countersign flattened); `plain` turns it back.
(function () {
  "use strict";

  var REF_KINDS = {
    role: "org", department: "org", user: "org", group: "org", node_handler: "node", node_department: "node"
  };
  var lastKey = 0;

  function key() {
    lastKey += 1;
    return "k" + lastKey;
  }

  function refKind(kind) {
    return REF_KINDS[kind] || "none";
  }

  function splitLimit(limit) {
    var m = /^PT(\d+)H$/.exec(limit || "");
    if (m) return { amount: m[1], unit: "H" };
    m = /^P(\d+)D$/.exec(limit || "");
    if (m) return { amount: m[1], unit: "D" };
    return { amount: limit || "", unit: limit ? "ISO" : "H" };
  }

  function joinLimit(amount, unit) {
    amount = String(amount == null ? "" : amount).trim();
    if (!amount || unit === "ISO") return amount;
    return unit === "D" ? "P" + amount + "D" : "PT" + amount + "H";
  }

  function edit(node) {
    node = node || {};
    var limit = splitLimit(node.limit);
    var cs = node.countersign || null;
    var warn = node.warn_at == null || node.warn_at === "" ? 0.75 : Number(node.warn_at);
    return {
      _key: key(),
      id: node.id || "",
      name: node.name || "",
      dispatch: node.dispatch || "auto",
      assign: (node.assign || []).map(function (r) {
        return { _key: key(), kind: r.kind || "role", ref: r.ref || "" };
      }),
      states: (node.states || []).map(function (s) {
        return { _key: key(), code: s.code || "", label: s.label || "", next: s.next || "" };
      }),
      limit_amount: limit.amount,
      limit_unit: limit.unit,
      warn_pct: isFinite(warn) ? Math.round(warn * 1000) / 10 : "",
      escalation: node.escalation || "notify",
      escalation_state: node.escalation_state || "",
      cs_on: !!cs,
      cs_mode: (cs && cs.mode) || "all",
      cs_quorum: cs && cs.quorum != null ? cs.quorum : "",
      cs_var: (cs && cs.participants_var) || "countersigners",
      cs_sequential: !!(cs && cs.sequential)
    };
  }

  function plain(ui) {
    var limit = joinLimit(ui.limit_amount, ui.limit_unit);
    var pct = ui.warn_pct === "" || ui.warn_pct == null ? NaN : Number(ui.warn_pct);
    var quorum = ui.cs_quorum === "" || ui.cs_quorum == null ? null : Number(ui.cs_quorum);
    var warnAt = isFinite(pct) ? pct / 100 : null;
    // Warning and escalation only act after a time limit; without one their hidden fields go back to
    // the defaults, so a value nobody can see never blocks saving.
    if (!limit && !(warnAt > 0 && warnAt < 1)) warnAt = 0.75;
    return {
      id: String(ui.id || "").trim(),
      name: String(ui.name || "").trim(),
      dispatch: ui.dispatch,
      assign: ui.assign.map(function (r) {
        return { kind: r.kind, ref: refKind(r.kind) === "none" ? "" : r.ref };
      }),
      states: ui.states.map(function (s) {
        return { code: String(s.code || "").trim(), label: String(s.label || "").trim(), next: s.next };
      }),
      limit: limit,
      warn_at: warnAt,
      escalation: limit ? ui.escalation : "notify",
      escalation_state: limit && ui.escalation === "path" ? ui.escalation_state : "",
      countersign: ui.cs_on
        ? {
            mode: ui.cs_mode,
            quorum: ui.cs_mode === "quorum" && quorum !== null && isFinite(quorum) ? quorum : null,
            participants_var: ui.cs_var || "countersigners",
            sequential: !!ui.cs_sequential
          }
        : null
    };
  }

  // Methods of an Alpine component that edits nodes; it supplies options, text, nodeIds(),
  // nodeLabel(id), defaultNext(node) and changed().
  var methods = {
    refKind: refKind,
    err: function (path) {
      return (this.errors && this.errors[path]) || "";
    },
    refChoices: function (rule, node) {
      var self = this;
      var list = [];
      if (refKind(rule.kind) === "org") {
        list = (this.options[rule.kind] || []).slice();
      } else if (refKind(rule.kind) === "node") {
        list = this.nodeIds()
          .filter(function (id) { return id && id !== node.id; })
          .map(function (id) { return { value: id, label: self.nodeLabel(id) }; });
      }
      if (rule.ref && !list.some(function (o) { return o.value === rule.ref; })) {
        list.unshift({ value: rule.ref, label: rule.ref });
      }
      return list;
    },
    nextChoices: function (node, state) {
      var self = this;
      var list = this.nodeIds()
        .filter(Boolean)
        .map(function (id) { return { value: id, label: self.nodeLabel(id) }; });
      list.push({ value: "end", label: this.text.end || "end" });
      if (state.next && !list.some(function (o) { return o.value === state.next; })) {
        list.unshift({ value: state.next, label: state.next });
      }
      return list;
    },
    stateCodes: function (node) {
      var codes = node.states.map(function (s) { return s.code; }).filter(Boolean);
      return codes.length ? codes : ["done"];
    },
    addRule: function (node) {
      node.assign.push({ _key: key(), kind: "role", ref: "" });
      this.changed();
    },
    addState: function (node) {
      node.states.push({ _key: key(), code: "", label: "", next: this.defaultNext(node) });
      this.changed();
    }
  };

  // Fit the diagram into its box, centred, with a margin (the designer's palette sits on the left).
  function fit(canvas, margin) {
    canvas.zoom("fit-viewport", "auto");
    var box = canvas.viewbox();
    // The zoom centre is in screen coordinates of the canvas.
    canvas.zoom(box.scale * (margin || 0.9), { x: box.outer.width / 2, y: box.outer.height / 2 });
  }

  window.kefuFlowNode = { edit: edit, plain: plain, methods: methods, refKind: refKind, key: key, fit: fit };

  // The simple builder page: the whole flow lives here and is posted as JSON.
  function builder() {
    var data = JSON.parse(document.getElementById("builder-data").textContent);
    var flow = data.flow || {};
    return Object.assign({}, methods, {
      flow: { code: flow.code || "", name: flow.name || "", nodes: (flow.nodes || []).map(edit) },
      errors: data.errors || {},
      options: data.options || {},
      text: data.text || {},
      checked: "",
      viewer: null,
      nodeIds: function () {
        return this.flow.nodes.map(function (n) { return String(n.id || "").trim(); });
      },
      nodeLabel: function (id) {
        var node = this.flow.nodes.find(function (n) { return String(n.id).trim() === id; });
        return node && node.name ? node.name + " (" + id + ")" : id;
      },
      defaultNext: function (node) {
        var index = this.flow.nodes.indexOf(node);
        var following = this.flow.nodes[index + 1];
        return following && following.id ? String(following.id).trim() : "end";
      },
      changed: function () {
        this.checked = "";
      },
      renamed: function (node) {
        // States and node rules that named the old id follow the node to its new one.
        var was = String(node._was || "").trim();
        var now = String(node.id || "").trim();
        if (was && now && was !== now) {
          this.flow.nodes.forEach(function (other) {
            other.states.forEach(function (s) { if (s.next === was) s.next = now; });
            other.assign.forEach(function (r) { if (refKind(r.kind) === "node" && r.ref === was) r.ref = now; });
          });
        }
        node._was = now;
        this.changed();
      },
      reshaped: function () {
        // Messages are keyed by position; once nodes move they would point at the wrong fields.
        this.errors = {};
        this.changed();
      },
      addNode: function () {
        this.flow.nodes.push(edit({ assign: [{ kind: "role" }] }));
        this.reshaped();
      },
      removeNode: function (index) {
        this.flow.nodes.splice(index, 1);
        this.reshaped();
      },
      moveNode: function (index, step) {
        var target = index + step;
        if (target < 0 || target >= this.flow.nodes.length) return;
        var moved = this.flow.nodes.splice(index, 1)[0];
        this.flow.nodes.splice(target, 0, moved);
        this.reshaped();
      },
      payload: function () {
        return { code: this.flow.code.trim(), name: this.flow.name.trim(), nodes: this.flow.nodes.map(plain) };
      },
      serialize: function () {
        return JSON.stringify(this.payload());
      },
      check: function () {
        var self = this;
        fetch("/api/v1/workflow/builder/preview", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf },
          body: this.serialize()
        })
          .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
          .then(function (answer) {
            var errors = {};
            var found = answer.ok ? answer.body.problems : answer.body.detail || [];
            found.forEach(function (p) {
              var field = p.field || (p.loc || []).slice(1).join(".");
              if (!errors[field]) errors[field] = p.message || p.msg;
            });
            self.errors = errors;
            self.checked = found.length ? "bad" : "ok";
            if (answer.ok && answer.body.bpmn_xml) self.show(answer.body.bpmn_xml);
          });
      },
      show: function (xml) {
        if (!window.BpmnJS) return;
        var self = this;
        // The preview box appears with this answer; draw once the browser has laid it out.
        this.$nextTick(function () {
          window.requestAnimationFrame(function () {
            if (!self.viewer) self.viewer = new window.BpmnJS({ container: "#builder-preview" });
            self.viewer.importXML(xml).then(function () { fit(self.viewer.get("canvas")); });
          });
        });
      }
    });
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("kefuBuilder", builder);
  });
})();
