//! A small FHIRPath evaluator: the part of the language the specification's search parameters
//! and compartment definitions use. Paths with choice types (`Observation.value`), `|`,
//! `where(...)`, `resolve() is X`, `as`/`is`/`ofType`, `exists()`, `empty()`, `not()`,
//! `first()`, `extension(url)`, `hasExtension(url)`, `[n]`, `=`, `!=`, `and`, `or` and
//! literals. Expressions are parsed once (`Expr::parse`) and evaluated on `serde_json` values
//! without copying them.
//!
//! The evaluator is total: a shape it does not expect yields nothing, never a panic.

use std::borrow::Cow;

use serde_json::Value;

/// One value in a collection: a node of the resource (borrowed), or one the expression made
/// (a boolean, a resolved reference), with its FHIR type when known.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub value: Cow<'a, Value>,
    /// The type named by a choice element's suffix (`valueQuantity`: `Quantity`), a resource's
    /// `resourceType`, or the target type of a resolved reference.
    pub ty: Option<Cow<'a, str>>,
    /// Made by `resolve()`: stands for the referenced resource, of which only the type is known.
    pub resolved: bool,
}

impl<'a> Item<'a> {
    fn node(value: &'a Value) -> Item<'a> {
        // A resource's type is read when asked (`is_type`), not for every node walked.
        Item {
            value: Cow::Borrowed(value),
            ty: None,
            resolved: false,
        }
    }

    fn made(value: Value) -> Item<'a> {
        Item {
            value: Cow::Owned(value),
            ty: None,
            resolved: false,
        }
    }

    /// Whether this is of FHIR type `name` (case-insensitive for primitives: `DateTime` and
    /// `dateTime` alike, as the spec's expressions write both).
    fn is_type(&self, name: &str) -> bool {
        let name = name.rsplit('.').next().unwrap_or(name);
        if let Some(ty) = &self.ty {
            return ty.eq_ignore_ascii_case(name) || (name == "Resource" && self.resolved);
        }
        if let Some(rtype) = self.value.get("resourceType").and_then(Value::as_str) {
            return rtype == name || name == "Resource" || name == "DomainResource";
        }
        match &*self.value {
            Value::String(_) => matches!(
                name,
                "string" | "String" | "code" | "uri" | "url" | "canonical" | "id"
            ),
            Value::Bool(_) => name.eq_ignore_ascii_case("boolean"),
            Value::Number(n) => {
                name.eq_ignore_ascii_case("decimal")
                    || (n.is_i64() && name.eq_ignore_ascii_case("integer"))
            }
            Value::Object(map) => match name {
                "Reference" => map.contains_key("reference") || map.contains_key("identifier"),
                "CodeableConcept" => map.contains_key("coding") || map.contains_key("text"),
                "Coding" => map.contains_key("code") && map.contains_key("system"),
                "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" => {
                    map.contains_key("value") && !map.contains_key("url")
                }
                "Period" => map.contains_key("start") || map.contains_key("end"),
                "Resource" | "DomainResource" => map.contains_key("resourceType"),
                _ => false,
            },
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// The context itself (`$this`).
    This,
    /// A type name (`Observation` leading `Observation.code`, `Quantity` in `ofType(Quantity)`):
    /// as a path step, the context itself.
    Type(String),
    Lit(Lit),
    Member(Box<Node>, String),
    Index(Box<Node>, usize),
    Call(Box<Node>, String, Vec<Node>),
    Union(Box<Node>, Box<Node>),
    Is(Box<Node>, String),
    As(Box<Node>, String),
    Eq(Box<Node>, Box<Node>, bool),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(Node);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '\'' => {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("an unclosed string".into());
                }
                i += 1;
                out.push(Tok::Str(s));
            }
            '`' => {
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&c| c == '`')
                    .ok_or("an unclosed `name`")?;
                out.push(Tok::Ident(chars[start..start + end].iter().collect()));
                i = start + end + 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Sym("!="));
                i += 2;
            }
            '.' | '(' | ')' | '[' | ']' | '|' | '=' | ',' => {
                out.push(Tok::Sym(match c {
                    '.' => ".",
                    '(' => "(",
                    ')' => ")",
                    '[' => "[",
                    ']' => "]",
                    '|' => "|",
                    '=' => "=",
                    _ => ",",
                }));
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(text.parse().map_err(|_| format!("'{text}'"))?));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("an unexpected '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn require(&mut self, sym: &str) -> Result<(), String> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(format!("'{sym}' expected"))
        }
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut left = self.equality()?;
        while self.eat_word("and") {
            left = Node::And(Box::new(left), Box::new(self.equality()?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Node, String> {
        let mut left = self.union()?;
        loop {
            if self.eat("=") {
                left = Node::Eq(Box::new(left), Box::new(self.union()?), true);
            } else if self.eat("!=") {
                left = Node::Eq(Box::new(left), Box::new(self.union()?), false);
            } else {
                return Ok(left);
            }
        }
    }

    fn union(&mut self) -> Result<Node, String> {
        let mut left = self.typed()?;
        while self.eat("|") {
            left = Node::Union(Box::new(left), Box::new(self.typed()?));
        }
        Ok(left)
    }

    fn typed(&mut self) -> Result<Node, String> {
        let mut left = self.postfix()?;
        loop {
            if self.eat_word("is") {
                left = Node::Is(Box::new(left), self.type_name()?);
            } else if self.eat_word("as") {
                left = Node::As(Box::new(left), self.type_name()?);
            } else {
                return Ok(left);
            }
        }
    }

    fn type_name(&mut self) -> Result<String, String> {
        let mut name = match self.toks.get(self.at) {
            Some(Tok::Ident(s)) => s.clone(),
            _ => return Err("a type name expected".into()),
        };
        self.at += 1;
        // `FHIR.Quantity`, `System.String`
        while self.eat(".") {
            match self.toks.get(self.at) {
                Some(Tok::Ident(s)) => name = s.clone(),
                _ => return Err("a type name expected".into()),
            }
            self.at += 1;
        }
        Ok(name)
    }

    fn postfix(&mut self) -> Result<Node, String> {
        let mut node = self.term()?;
        loop {
            if self.eat(".") {
                let name = match self.toks.get(self.at) {
                    Some(Tok::Ident(s)) => s.clone(),
                    _ => return Err("a name expected after '.'".into()),
                };
                self.at += 1;
                node = if self.eat("(") {
                    let args = self.args()?;
                    Node::Call(Box::new(node), name, args)
                } else {
                    Node::Member(Box::new(node), name)
                };
            } else if self.eat("[") {
                let n = match self.toks.get(self.at) {
                    Some(Tok::Num(n)) if *n >= 0.0 && n.fract() == 0.0 => *n as usize,
                    _ => return Err("an index expected".into()),
                };
                self.at += 1;
                self.require("]")?;
                node = Node::Index(Box::new(node), n);
            } else {
                return Ok(node);
            }
        }
    }

    fn args(&mut self) -> Result<Vec<Node>, String> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.or()?);
            if self.eat(")") {
                return Ok(args);
            }
            self.require(",")?;
        }
    }

    fn term(&mut self) -> Result<Node, String> {
        let tok = self.toks.get(self.at).cloned().ok_or("an unexpected end")?;
        self.at += 1;
        match tok {
            Tok::Str(s) => Ok(Node::Lit(Lit::Str(s))),
            Tok::Num(n) => Ok(Node::Lit(Lit::Num(n))),
            Tok::Sym("(") => {
                let inner = self.or()?;
                self.require(")")?;
                Ok(inner)
            }
            Tok::Ident(name) => match name.as_str() {
                "true" => Ok(Node::Lit(Lit::Bool(true))),
                "false" => Ok(Node::Lit(Lit::Bool(false))),
                "$this" => Ok(Node::This),
                _ if name.starts_with(char::is_uppercase) => Ok(Node::Type(name)),
                _ if self.eat("(") => {
                    let args = self.args()?;
                    Ok(Node::Call(Box::new(Node::This), name, args))
                }
                _ => Ok(Node::Member(Box::new(Node::This), name)),
            },
            Tok::Sym(s) => Err(format!("an unexpected '{s}'")),
        }
    }
}

impl Expr {
    /// Parses `src`; a leading name that is a type (`Observation.code`) stands for the resource.
    pub fn parse(src: &str) -> Result<Expr, String> {
        let toks = lex(src)?;
        let mut p = Parser { toks, at: 0 };
        let node = p.or()?;
        if p.at != p.toks.len() {
            return Err(format!("'{src}': unexpected text after the expression"));
        }
        Ok(Expr(node))
    }

    /// The top-level elements of the resource this expression reads (`Observation.subject |
    /// Observation.performer`: subject and performer).
    pub fn top_fields(&self, out: &mut Vec<String>) {
        fn walk(node: &Node, out: &mut Vec<String>) {
            match node {
                Node::Member(base, name) => match **base {
                    Node::This | Node::Type(_) => out.push(name.clone()),
                    _ => walk(base, out),
                },
                // `extension('url')` on the resource reads its `extension`.
                Node::Call(base, name, _)
                    if matches!(**base, Node::This | Node::Type(_))
                        && (name == "extension" || name == "hasExtension") =>
                {
                    out.push("extension".into())
                }
                Node::Index(base, _)
                | Node::Is(base, _)
                | Node::As(base, _)
                | Node::Call(base, _, _) => walk(base, out),
                Node::Union(a, b) | Node::Eq(a, b, _) | Node::And(a, b) | Node::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Node::This | Node::Type(_) | Node::Lit(_) => {}
            }
        }
        walk(&self.0, out);
    }

    /// Whether the expression gives nothing for a resource that lacks every element
    /// `top_fields` names. Not so for one that makes a value of an absence: `exists()`,
    /// `empty()`, `not()`, `and`/`or`, a literal (`Patient.deceased.exists() and ...` is
    /// `false` for a patient without `deceased`).
    pub fn absent_is_empty(&self) -> bool {
        fn walk(node: &Node) -> bool {
            match node {
                Node::This | Node::Type(_) | Node::Member(..) | Node::Index(..) => match node {
                    Node::Member(base, _) | Node::Index(base, _) => walk(base),
                    _ => true,
                },
                Node::Lit(_) | Node::And(..) | Node::Or(..) => false,
                Node::Call(_, name, _) if matches!(name.as_str(), "exists" | "empty" | "not") => {
                    false
                }
                Node::Call(base, _, _) | Node::Is(base, _) | Node::As(base, _) => walk(base),
                // A union is empty when both sides are; a comparison when either is.
                Node::Union(a, b) => walk(a) && walk(b),
                Node::Eq(a, b, _) => walk(a) || walk(b),
            }
        }
        walk(&self.0)
    }

    /// The collection this expression gives for `resource`.
    pub fn eval<'a>(&self, resource: &'a Value) -> Vec<Item<'a>> {
        let mut fuel = FUEL;
        eval(&self.0, vec![Item::node(resource)], &mut fuel)
    }

    /// The same, on a collection already in hand (a composite's components, per root node).
    pub fn eval_on<'a>(&self, item: Item<'a>) -> Vec<Item<'a>> {
        let mut fuel = FUEL;
        eval(&self.0, vec![item], &mut fuel)
    }
}

/// Items any one evaluation may visit. Not a limit in practice: the subset evaluated here has
/// no recursion (no `descendants()`), so its cost is linear in the resource, which the request
/// body limit bounds; and a limit would be unsafe, for a Group's compartments must see every
/// member (one past a limit would escape the gate).
const FUEL: usize = usize::MAX;

/// The type names data types and primitives use as choice suffixes (`valueQuantity`).
fn is_type_suffix(s: &str) -> bool {
    s.starts_with(char::is_uppercase) && super::spec::is_data_type(s)
}

fn member<'a>(item: &Item<'a>, name: &str, out: &mut Vec<Item<'a>>, fuel: &mut usize) {
    if item.resolved {
        return;
    }
    let Cow::Borrowed(value) = item.value else {
        return;
    };
    let Value::Object(map) = value else {
        return;
    };
    let push =
        |child: &'a Value, ty: Option<Cow<'a, str>>, out: &mut Vec<Item<'a>>, fuel: &mut usize| {
            let items: &'a [Value] = match child {
                Value::Array(a) => a,
                one => std::slice::from_ref(one),
            };
            for v in items {
                if *fuel == 0 {
                    return;
                }
                *fuel -= 1;
                let mut node = Item::node(v);
                if ty.is_some() {
                    node.ty = ty.clone();
                }
                out.push(node);
            }
        };
    if let Some(child) = map.get(name) {
        push(child, None, out, fuel);
        return;
    }
    // A choice element: `value` is whichever of `valueQuantity`, `valueString`... is present.
    for (key, child) in map {
        if let Some(suffix) = key.strip_prefix(name) {
            if is_type_suffix(suffix) {
                push(child, Some(Cow::Borrowed(suffix)), out, fuel);
            }
        }
    }
}

fn truthy(items: &[Item]) -> Option<bool> {
    match items {
        [] => None,
        [one] => match &*one.value {
            Value::Bool(b) => Some(*b),
            _ => Some(true),
        },
        _ => Some(true),
    }
}

fn literal(l: &Lit) -> Value {
    match l {
        Lit::Str(s) => Value::String(s.clone()),
        Lit::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Lit::Bool(b) => Value::Bool(*b),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn eval<'a>(node: &Node, input: Vec<Item<'a>>, fuel: &mut usize) -> Vec<Item<'a>> {
    if *fuel == 0 {
        return Vec::new();
    }
    match node {
        Node::This | Node::Type(_) => input,
        Node::Lit(l) => vec![Item::made(literal(l))],
        Node::Member(base, name) => {
            let base = eval(base, input, fuel);
            let mut out = Vec::new();
            for item in &base {
                member(item, name, &mut out, fuel);
            }
            out
        }
        Node::Index(base, n) => eval(base, input, fuel)
            .into_iter()
            .nth(*n)
            .into_iter()
            .collect(),
        Node::Union(a, b) => {
            let mut out = eval(a, input.clone(), fuel);
            out.extend(eval(b, input, fuel));
            out
        }
        Node::Is(base, ty) => {
            let items = eval(base, input, fuel);
            match items.as_slice() {
                [one] => vec![Item::made(Value::Bool(one.is_type(ty)))],
                _ => Vec::new(),
            }
        }
        Node::As(base, ty) => eval(base, input, fuel)
            .into_iter()
            .filter(|i| i.is_type(ty))
            .collect(),
        Node::Eq(a, b, positive) => {
            let left = eval(a, input.clone(), fuel);
            let right = eval(b, input, fuel);
            if left.is_empty() || right.is_empty() {
                return Vec::new();
            }
            let same = left.len() == right.len()
                && left
                    .iter()
                    .zip(&right)
                    .all(|(x, y)| equal(&x.value, &y.value));
            vec![Item::made(Value::Bool(same == *positive))]
        }
        Node::And(a, b) => {
            let left = truthy(&eval(a, input.clone(), fuel));
            let right = truthy(&eval(b, input, fuel));
            match (left, right) {
                (Some(false), _) | (_, Some(false)) => vec![Item::made(Value::Bool(false))],
                (Some(true), Some(true)) => vec![Item::made(Value::Bool(true))],
                _ => Vec::new(),
            }
        }
        Node::Or(a, b) => {
            let left = truthy(&eval(a, input.clone(), fuel));
            let right = truthy(&eval(b, input, fuel));
            match (left, right) {
                (Some(true), _) | (_, Some(true)) => vec![Item::made(Value::Bool(true))],
                (Some(false), Some(false)) => vec![Item::made(Value::Bool(false))],
                _ => Vec::new(),
            }
        }
        Node::Call(base, name, args) => {
            let items = eval(base, input, fuel);
            call(name, args, items, fuel)
        }
    }
}

fn string_arg(args: &[Node]) -> Option<&str> {
    match args.first() {
        Some(Node::Lit(Lit::Str(s))) => Some(s),
        _ => None,
    }
}

fn call<'a>(name: &str, args: &[Node], items: Vec<Item<'a>>, fuel: &mut usize) -> Vec<Item<'a>> {
    let boolean = |b: bool| vec![Item::made(Value::Bool(b))];
    match name {
        "where" => {
            let Some(crit) = args.first() else {
                return Vec::new();
            };
            items
                .into_iter()
                .filter(|i| truthy(&eval(crit, vec![i.clone()], fuel)) == Some(true))
                .collect()
        }
        "exists" => match args.first() {
            None => boolean(!items.is_empty()),
            Some(crit) => boolean(
                items
                    .into_iter()
                    .any(|i| truthy(&eval(crit, vec![i], fuel)) == Some(true)),
            ),
        },
        "empty" => boolean(items.is_empty()),
        "not" => match truthy(&items) {
            Some(b) => boolean(!b),
            None => Vec::new(),
        },
        "first" => items.into_iter().take(1).collect(),
        "resolve" => items
            .into_iter()
            .filter_map(|i| {
                let reference = match &*i.value {
                    Value::Object(m) => m.get("reference").and_then(Value::as_str)?.to_string(),
                    Value::String(s) => s.clone(),
                    _ => return None,
                };
                let (rtype, _) = super::parse_reference(&reference)?;
                Some(Item {
                    value: i.value,
                    ty: Some(Cow::Owned(rtype.to_string())),
                    resolved: true,
                })
            })
            .collect(),
        "ofType" | "as" => {
            let Some(ty) = args.first().and_then(type_name_of) else {
                return Vec::new();
            };
            items.into_iter().filter(|i| i.is_type(&ty)).collect()
        }
        "is" => {
            let Some(ty) = args.first().and_then(type_name_of) else {
                return Vec::new();
            };
            match items.as_slice() {
                [one] => boolean(one.is_type(&ty)),
                _ => Vec::new(),
            }
        }
        "extension" | "hasExtension" => {
            let Some(url) = string_arg(args) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for item in &items {
                let mut exts = Vec::new();
                member(item, "extension", &mut exts, fuel);
                out.extend(
                    exts.into_iter()
                        .filter(|e| e.value.get("url").and_then(Value::as_str) == Some(url)),
                );
            }
            if name == "hasExtension" {
                boolean(!out.is_empty())
            } else {
                out
            }
        }
        _ => Vec::new(),
    }
}

/// A type argument: `Quantity`, `FHIR.Quantity` or `string`.
fn type_name_of(node: &Node) -> Option<String> {
    match node {
        Node::Type(name) | Node::Member(_, name) => Some(name.clone()),
        _ => None,
    }
}
