; Definitions: @definition.<kind> on the whole node, @name.definition.<kind> on its name.
; Functions inside a class body are reported as methods by code_tags.py.
(class_definition name: (identifier) @name.definition.class) @definition.class
(function_definition name: (identifier) @name.definition.function) @definition.function

; References: @name.reference.<kind> on the name used.
(call function: (identifier) @name.reference.call)
(call function: (attribute attribute: (identifier) @name.reference.call))
(decorator (identifier) @name.reference.call)
(decorator (call function: (identifier) @name.reference.call))
(class_definition superclasses: (argument_list (identifier) @name.reference.class))
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @name.reference.class)))
(type (identifier) @name.reference.type)
(generic_type (identifier) @name.reference.type)
