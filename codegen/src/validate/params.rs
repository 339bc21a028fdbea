//! Parameters: where each value comes from (fixed, builder setting, call argument), its type and default.

use super::*;

impl Cx {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn param(
        &mut self,
        wire: &str,
        param: &ParamSpec,
        at: &YamlPath,
        enums: &mut Vec<ir::EnumType>,
        config_params: &mut Vec<ir::ConfigParam>,
        call_params: &mut Vec<ir::CallParam>,
        arg_names: &mut Names,
        type_names: &mut Names,
    ) -> ParamSource {
        if let Some(value) = &param.value {
            for (key, set) in [
                ("from", param.from.is_some()),
                ("default", param.default.is_some()),
                ("type", param.ty.is_some()),
                ("required", param.required.is_some()),
                ("separator", param.separator.is_some()),
                ("rust_name", param.rust_name.is_some()),
                ("type_name", param.type_name.is_some()),
            ] {
                if set {
                    self.error(
                        &at.key(key),
                        format!("`{key}` means nothing for a parameter with a fixed `value`"),
                        "remove it, or remove `value` to let the caller supply the parameter",
                    );
                }
            }
            return match literal(value) {
                Some(l) => ParamSource::Fixed(l),
                None => {
                    self.error(
                        &at.key("value"),
                        format!(
                            "fixed value of `{wire}` must be text, a whole number or a boolean"
                        ),
                        "quote it if it is text",
                    );
                    ParamSource::Fixed(Literal::Str(String::new()))
                }
            };
        }
        let ident = snake_ident(param.rust_name.as_deref().unwrap_or(wire));
        let ty = self.param_type(wire, param, at, enums, type_names);
        if param.separator.is_some() && !matches!(ty, ParamType::Set(..)) {
            self.error(
                &at.key("separator"),
                "`separator` only applies to `set` types",
                "remove it",
            );
        }
        let from = param.from.unwrap_or(SourceSpec::Config);
        let default = param
            .default
            .as_ref()
            .and_then(|d| self.default_value(d, &ty, enums, &at.key("default")));
        let required = param.required.unwrap_or(default.is_none());
        match from {
            SourceSpec::Call if ty == ParamType::SecretFile => {
                self.error(
                    &at.key("type"),
                    "a `secret_file` is a builder setting: the client reads the file at every token request",
                    "make it `from: config` (the builder takes the file's path), or `type: secret` for a value passed per call",
                );
                ParamSource::Call(0)
            }
            SourceSpec::Call => {
                if default.is_some() {
                    self.error(
                        &at.key("default"),
                        "a per-call parameter cannot have a default",
                        "make it `from: config`, or drop the default",
                    );
                }
                if let Err(previous) = arg_names.claim(&ident, wire) {
                    self.error(
                        at,
                        format!("argument `{ident}` clashes with {previous}"),
                        "set `rust_name:` to tell them apart",
                    );
                }
                call_params.push(ir::CallParam {
                    wire: wire.to_owned(),
                    ident,
                    ty,
                    required,
                    doc: param.doc.clone(),
                });
                ParamSource::Call(call_params.len() - 1)
            }
            SourceSpec::Config => {
                if matches!(ty, ParamType::Secret | ParamType::SecretFile) && default.is_some() {
                    self.error(
                        &at.key("default"),
                        "a secret parameter cannot have a default in the spec",
                        "specs are checked in; supply secrets at run time",
                    );
                }
                if let Some(i) = config_params.iter().position(|c| c.ident == ident) {
                    // Two flows may share one builder setting, if they agree on what it is.
                    if config_params[i].ty != ty || config_params[i].default != default {
                        self.error(at, format!("builder setting `{ident}` is declared twice with different types or defaults"), "make the declarations agree, or set `rust_name:` on one of them");
                    }
                    return ParamSource::Config(i);
                }
                // Where the setting's name is written, for a clash with a generated setter.
                let named_at = if param.rust_name.is_some() {
                    at.key("rust_name")
                } else {
                    at.clone()
                };
                self.settings_at.push((ident.clone(), named_at));
                config_params.push(ir::ConfigParam {
                    wire: wire.to_owned(),
                    ident,
                    ty,
                    default,
                    required,
                    doc: param.doc.clone(),
                });
                ParamSource::Config(config_params.len() - 1)
            }
        }
    }

    pub(super) fn param_type(
        &mut self,
        wire: &str,
        param: &ParamSpec,
        at: &YamlPath,
        enums: &mut Vec<ir::EnumType>,
        type_names: &mut Names,
    ) -> ParamType {
        let scalar = match &param.ty {
            None | Some(ParamTypeSpec::Scalar(ScalarTypeSpec::String)) => Some(ParamType::String),
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::Integer)) => Some(ParamType::Integer),
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::Boolean)) => Some(ParamType::Boolean),
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::Secret)) => Some(ParamType::Secret),
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::SecretFile)) => Some(ParamType::SecretFile),
            Some(ParamTypeSpec::Enum { .. } | ParamTypeSpec::Set { .. }) => None,
        };
        if let Some(scalar) = scalar {
            if let Some(name) = &param.type_name {
                self.error(
                    &at.key("type_name"),
                    format!(
                        "`type_name: {name}` names a generated enum, but `{wire}` is no enum or set"
                    ),
                    "remove it, or make the type `{ enum: [..] }` or `{ set: [..] }`",
                );
            }
            return scalar;
        }
        let (values, set) = match &param.ty {
            Some(ParamTypeSpec::Enum { values }) => (values, false),
            Some(ParamTypeSpec::Set { set }) => (set, true),
            _ => return ParamType::String,
        };
        let tat = at.key("type");
        let ident = camel_ident(param.type_name.as_deref().unwrap_or(wire));
        if values.is_empty() {
            self.error(
                &tat,
                format!("`{wire}` lists no values"),
                "list the values the provider accepts",
            );
        }
        let mut variants = Names::default();
        let mut out = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let variant = camel_ident(value);
            if let Err(previous) = variants.claim(&variant, value) {
                self.error(
                    &tat.key(if set { "set" } else { "enum" }).index(i),
                    format!("values `{previous}` and `{value}` both become variant `{variant}`"),
                    "remove the duplicate",
                );
            } else {
                out.push((value.clone(), variant));
            }
        }
        if let Some(existing) = enums.iter().position(|e| e.ident == ident) {
            if enums[existing].values != out {
                self.error(
                    &tat,
                    format!("type `{ident}` is already defined with other values"),
                    "set `type_name:` to another name, or list the same values",
                );
            }
        } else {
            if let Err(previous) = type_names.claim(&ident, wire) {
                self.error(
                    &tat,
                    format!("type `{ident}` clashes with {previous}"),
                    "set `type_name:` to another name",
                );
            }
            enums.push(ir::EnumType {
                ident: ident.clone(),
                param: wire.to_owned(),
                values: out,
                doc: param.doc.clone(),
            });
        }
        let index = enums.iter().position(|e| e.ident == ident).unwrap_or(0);
        if set {
            ParamType::Set(index, param.separator.clone().unwrap_or_else(|| " ".into()))
        } else {
            ParamType::Enum(index)
        }
    }

    pub(super) fn default_value(
        &mut self,
        value: &serde_yaml::Value,
        ty: &ParamType,
        enums: &[ir::EnumType],
        at: &YamlPath,
    ) -> Option<ir::Default> {
        let lookup = |v: &serde_yaml::Value, e: usize| {
            v.as_str()
                .and_then(|s| enums.get(e)?.values.iter().position(|(w, _)| w == s))
        };
        let ok = match (ty, literal(value)) {
            (ParamType::String, Some(l @ Literal::Str(_)))
            | (ParamType::Integer, Some(l @ Literal::Int(_)))
            | (ParamType::Boolean, Some(l @ Literal::Bool(_))) => {
                return Some(ir::Default::Literal(l));
            }
            (ParamType::Enum(e), _) => lookup(value, *e).map(ir::Default::Enum),
            (ParamType::Set(e, _), _) => match value {
                serde_yaml::Value::String(s) if s == "all" => Some(ir::Default::Set(
                    (0..enums.get(*e).map_or(0, |t| t.values.len())).collect(),
                )),
                serde_yaml::Value::Sequence(items) => items
                    .iter()
                    .map(|v| lookup(v, *e))
                    .collect::<Option<Vec<_>>>()
                    .map(ir::Default::Set),
                _ => None,
            },
            _ => None,
        };
        if ok.is_none() {
            let expected = match ty {
                ParamType::String => "text".to_owned(),
                ParamType::Integer => "a whole number".to_owned(),
                ParamType::Boolean => "`true` or `false`".to_owned(),
                ParamType::Secret | ParamType::SecretFile => {
                    "nothing (secrets have no default)".to_owned()
                }
                ParamType::Enum(e) => format!(
                    "one of: {}",
                    enums
                        .get(*e)
                        .map(|t| t
                            .values
                            .iter()
                            .map(|v| v.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default()
                ),
                ParamType::Set(..) => "a list of the declared values, or `all`".to_owned(),
            };
            let written = match value {
                serde_yaml::Value::String(text) => format!("`{text}`"),
                serde_yaml::Value::Number(n) => format!("`{n}`"),
                serde_yaml::Value::Bool(b) => format!("`{b}`"),
                serde_yaml::Value::Sequence(_) => "a list".to_owned(),
                serde_yaml::Value::Mapping(_) => "a mapping".to_owned(),
                _ => "empty".to_owned(),
            };
            // An enum's or set's value written slightly wrong: name the one it resembles.
            let nearest = match (ty, value) {
                (ParamType::Enum(e) | ParamType::Set(e, _), serde_yaml::Value::String(text)) => {
                    enums.get(*e).and_then(|t| {
                        crate::diagnostics::closest(text, t.values.iter().map(|v| v.0.as_str()))
                    })
                }
                _ => None,
            };
            self.error(
                at,
                format!("the default {written} does not fit the parameter's type"),
                match nearest {
                    Some(best) => format!("did you mean `{best}`? The default is {expected}"),
                    None => format!("the default is {expected}"),
                },
            );
        }
        ok
    }
}
