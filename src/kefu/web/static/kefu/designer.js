// The flow designer (流程设计器): bpmn-js with kefu's node settings (namespace urn:kefu:bpmn:1, see
// docs/workflow-bpmn.md) in a side panel. The moddle extension in kefu-moddle.json makes kefu:node,
// kefu:assign, kefu:state and kefu:countersign typed elements, so they survive import and export and
// the panel edits them through the modeling API (one undoable command per change).
(function () {
  "use strict";

  var root = document.getElementById("canvas");
  if (!root) return;
  var FN = window.kefuFlowNode;
  var editable = root.dataset.editable === "true";
  var text = JSON.parse(document.getElementById("designer-text").textContent);
  var NODE_TYPES = ["bpmn:UserTask", "bpmn:ManualTask", "bpmn:Task"];
  var NCNAME = /^[A-Za-z_][\w.-]*$/;
  var DURATION = /^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;
  var STATE_CONDITION = /^\s*kefu_state\s*==\s*(["'])([^"']*)\1\s*$/;
  var modeler = null;
  var panel = null;
  var current = null;
  var writing = false;

  function say(kind, message) {
    var box = document.getElementById("designer-status");
    box.className = "alert py-2 alert-" + kind;
    box.textContent = message;
  }

  function isNode(element) {
    var bo = element && !element.labelTarget && element.businessObject;
    return !!bo && NODE_TYPES.indexOf(bo.$type) >= 0;
  }

  function isFlow(element) {
    return !!(element && element.businessObject && element.businessObject.$type === "bpmn:SequenceFlow");
  }

  function extension(bo, type) {
    var values = (bo.extensionElements && bo.extensionElements.get("values")) || [];
    return values.filter(function (v) { return v.$instanceOf(type); })[0] || null;
  }

  function multiInstance(bo) {
    var loop = bo.loopCharacteristics;
    return loop && loop.$instanceOf("bpmn:MultiInstanceLoopCharacteristics") ? loop : null;
  }

  // The element's kefu settings in the contract's JSON shape, made editable.
  function readNode(element) {
    var bo = element.businessObject;
    var node = extension(bo, "kefu:Node");
    var rule = extension(bo, "kefu:Countersign");
    var loop = multiInstance(bo);
    var get = function (name) { return node ? node.get(name) : undefined; };
    return FN.edit({
      id: bo.id,
      name: bo.name || "",
      dispatch: get("dispatch"),
      assign: node ? node.get("assign").map(function (a) { return { kind: a.kind, ref: a.ref }; }) : [],
      states: node ? node.get("state").map(function (s) { return { code: s.code, label: s.label, next: s.next }; }) : [],
      limit: get("limit") || "",
      warn_at: get("warn-at"),
      escalation: get("escalation"),
      escalation_state: get("escalation-state"),
      countersign: rule
        ? {
            mode: rule.mode || "all",
            quorum: rule.quorum ? Number(rule.quorum) : null,
            participants_var: loop && loop.loopDataInputRef ? loop.loopDataInputRef.id : "countersigners",
            sequential: !!(loop && loop.isSequential)
          }
        : null
    });
  }

  function problems(ui) {
    var found = {};
    var registry = modeler.get("elementRegistry");
    var id = String(ui.id || "").trim();
    if (!NCNAME.test(id)) found["node.id"] = text.badId;
    else if (current && id !== current.businessObject.id && registry.get(id)) found["node.id"] = text.takenId;
    var limit = FN.plain(ui).limit;
    if (limit && !DURATION.test(limit)) found["node.limit"] = text.badLimit;
    ui.states.forEach(function (s, j) {
      if (!/^[a-z][a-z0-9_]*$/.test(s.code)) found["node.states[" + j + "].code"] = text.badState;
    });
    return found;
  }

  function create(type, props, parent) {
    var element = modeler.get("moddle").create(type, props);
    element.$parent = parent;
    return element;
  }

  function participantsLoop(bo, countersign) {
    var process = bo.$parent;
    while (process && !process.$instanceOf("bpmn:Process")) process = process.$parent;
    var name = countersign.participants_var;
    var property = process ? process.get("properties").filter(function (p) { return p.id === name; })[0] : null;
    if (process && !property) {
      property = create("bpmn:Property", { id: name, name: name }, process);
      process.get("properties").push(property);
    }
    var loop = create("bpmn:MultiInstanceLoopCharacteristics", { isSequential: countersign.sequential }, bo);
    loop.loopDataInputRef = property;
    loop.inputDataItem = create("bpmn:DataInput", { id: "countersigner_" + bo.id }, loop);
    return loop;
  }

  // Write the panel's node back into the diagram: kefu:node (+ kefu:countersign with a parallel
  // multi-instance loop over the participants), the name and, when valid, the id.
  function writeNode(element, ui, found) {
    var bo = element.businessObject;
    var data = FN.plain(ui);
    var ext = create("bpmn:ExtensionElements", {}, bo);
    var node = create("kefu:Node", { dispatch: data.dispatch }, ext);
    if (data.limit) {
      node.set("limit", data.limit);
      node.set("warn-at", String(data.warn_at));
      node.set("escalation", data.escalation);
      if (data.escalation_state) node.set("escalation-state", data.escalation_state);
    }
    data.assign.forEach(function (r) {
      node.get("assign").push(create("kefu:Assign", r.ref ? { kind: r.kind, ref: r.ref } : { kind: r.kind }, node));
    });
    data.states.forEach(function (s) {
      node.get("state").push(create("kefu:State", { code: s.code, label: s.label, next: s.next }, node));
    });
    var others = ((bo.extensionElements && bo.extensionElements.get("values")) || []).filter(function (v) {
      return !v.$instanceOf("kefu:Node") && !v.$instanceOf("kefu:Countersign");
    });
    var values = ext.get("values");
    others.forEach(function (v) { v.$parent = ext; values.push(v); });
    values.push(node);
    var props = { extensionElements: ext };
    var hadRule = !!extension(bo, "kefu:Countersign");
    if (data.countersign) {
      var rule = create("kefu:Countersign", { mode: data.countersign.mode }, ext);
      if (data.countersign.quorum !== null) rule.quorum = String(data.countersign.quorum);
      values.push(rule);
      if (!multiInstance(bo)) props.loopCharacteristics = participantsLoop(bo, data.countersign);
    } else if (hadRule && multiInstance(bo)) {
      props.loopCharacteristics = undefined;
    }
    if (data.name !== (bo.name || "")) props.name = data.name;
    if (data.id !== bo.id && !found["node.id"]) props.id = data.id;
    writing = true;
    try {
      modeler.get("modeling").updateProperties(element, props);
    } finally {
      writing = false;
    }
  }

  // A sequence flow after an exclusive gateway: which state of the task before it takes it (WF-3).
  function readFlow(element) {
    var bo = element.businessObject;
    var source = element.source;
    var task = null;
    if (source && source.businessObject && source.businessObject.$type === "bpmn:ExclusiveGateway") {
      task = (source.incoming || []).map(function (c) { return c.source; }).filter(isNode)[0] || null;
    }
    var condition = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    var match = STATE_CONDITION.exec(condition);
    return {
      id: bo.id,
      task: task ? task.businessObject.id : "",
      states: task ? readNode(task).states.filter(function (s) { return s.code; }) : [],
      state: match ? match[2] : "",
      custom: condition && !match ? condition : ""
    };
  }

  function writeFlow(element, info) {
    var state = info.states.filter(function (s) { return s.code === info.state; })[0];
    var props = { conditionExpression: undefined };
    if (state) {
      props.conditionExpression = create(
        "bpmn:FormalExpression", { body: 'kefu_state == "' + state.code + '"' }, element.businessObject
      );
      if (state.label) props.name = state.label;
    }
    writing = true;
    try {
      modeler.get("modeling").updateProperties(element, props);
    } finally {
      writing = false;
    }
  }

  function refresh() {
    if (!panel || !modeler) return;
    var registry = modeler.get("elementRegistry");
    var tasks = registry.filter(isNode);
    panel.taskIds = tasks.map(function (t) { return t.businessObject.id; });
    var names = {};
    tasks.forEach(function (t) { names[t.businessObject.id] = t.businessObject.name || ""; });
    panel.taskNames = names;
    if (current && !registry.get(current.id)) current = null;
    panel.errors = {};
    if (isNode(current)) {
      panel.node = readNode(current);
      panel.flow = null;
      panel.kind = "task";
    } else if (isFlow(current)) {
      panel.node = null;
      panel.flow = readFlow(current);
      panel.kind = "flow";
    } else {
      panel.node = null;
      panel.flow = null;
      panel.kind = "";
    }
  }

  function panelComponent() {
    return Object.assign({}, FN.methods, {
      editable: editable,
      kind: "",
      node: null,
      flow: null,
      taskIds: [],
      taskNames: {},
      options: { role: [], department: [], group: [], user: [] },
      errors: {},
      text: text,
      init: function () {
        panel = this;
        var self = this;
        // Names for the codes of candidate rules; without the right to build flows the codes show.
        fetch("/api/v1/workflow/builder/options")
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (options) { if (options) self.options = options; });
        refresh();
      },
      nodeIds: function () { return this.taskIds; },
      nodeLabel: function (id) {
        return this.taskNames[id] ? this.taskNames[id] + " (" + id + ")" : id;
      },
      defaultNext: function () { return "end"; },
      changed: function () {
        if (!this.editable || !this.node || !isNode(current)) return;
        this.errors = problems(this.node);
        writeNode(current, this.node, this.errors);
      },
      flowChanged: function () {
        if (this.editable && this.flow && isFlow(current)) writeFlow(current, this.flow);
      }
    });
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("kefuPanel", panelComponent);
  });

  function save() {
    var button = this;
    modeler.saveXML({ format: true }).then(function (result) {
      return fetch("/api/v1/workflow/templates/" + root.dataset.template + "/draft", {
        method: "PUT",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf },
        body: JSON.stringify({ bpmn_xml: result.xml, comment: document.getElementById("draft-comment").value })
      });
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) {
          say("danger", typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
        } else if (String(body.id) !== root.dataset.version) {
          // The version shown was published: the save opened a new draft; continue there.
          window.location.assign("/workflow/versions/" + body.id + "/designer?saved=1");
        } else {
          say("success", text.saved);
          button.blur();
        }
      });
    });
  }

  fetch("/static/kefu/kefu-moddle.json")
    .then(function (r) { return r.json(); })
    .then(function (descriptor) {
      modeler = new window.BpmnJS({
        container: root,
        keyboard: { bindTo: window },
        moddleExtensions: { kefu: descriptor }
      });
      window.kefuDesigner = modeler;
      modeler.on("selection.changed", function (e) {
        var chosen = e.newSelection.length === 1 ? e.newSelection[0] : null;
        current = chosen && chosen.labelTarget ? chosen.labelTarget : chosen;
        refresh();
      });
      modeler.on("elements.changed", function () {
        if (!writing) refresh();
      });
      var xml = JSON.parse(document.getElementById("designer-xml").textContent);
      return modeler.importXML(xml);
    })
    .then(function () {
      FN.fit(modeler.get("canvas"), editable ? 0.8 : 0.95);
      refresh();
      if (/[?&]saved=1/.test(window.location.search)) say("success", text.saved);
    })
    .catch(function (err) {
      say("danger", text.notShown + " " + err.message);
    });

  var button = document.getElementById("save-draft");
  if (button) button.addEventListener("click", save);
})();
