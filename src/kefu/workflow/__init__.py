"""Process management (流程管理, WF): BPMN flow templates, the engine, assignment, time limits."""
