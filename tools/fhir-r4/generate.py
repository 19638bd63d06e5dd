#!/usr/bin/env python3
"""Generates the embedded server's FHIR R4 tables from the specification's own definitions.

Source: the npm package `hl7.fhir.r4.examples` 4.0.1 (CC0), which carries the R4 publication's
StructureDefinition, SearchParameter, CompartmentDefinition, ValueSet and CodeSystem resources.
`.ci/fetch-fhir-examples` fetches it into target/fhir-examples/package.

Writes, into src/fhir/r4/ (committed; rerun this script to regenerate them byte for byte):
- search-parameters.json: for each resource type, every search parameter of the spec with its
  type, the FHIRPath expression for that type, reference targets and composite components;
- compartment.json: the Patient compartment definition (type -> parameters);
- elements.json: for each resource type and data type, its elements (path, cardinality,
  types, reference targets, required value set), what validation and FHIRPath read;
- valuesets.json: the codes of every value set bound `required` that the package can expand.

Usage: python3 tools/fhir-r4/generate.py [package-dir [output-dir]]
(tests/fhir_examples.rs regenerates them into a temporary folder and compares.)
"""

import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/fhir-examples/package")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "src/fhir/r4")
SOURCE = "hl7.fhir.r4.examples 4.0.1 (npm, CC0): the FHIR R4 specification's own definitions"


def load(name):
    with open(os.path.join(PKG, name), encoding="utf-8") as f:
        return json.load(f)


def all_of(prefix):
    out = []
    for path in sorted(glob.glob(os.path.join(PKG, prefix + "-*.json"))):
        with open(path, encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def dump(name, value):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        f.write("\n")


# --- structure definitions -------------------------------------------------------------------

sds = [
    sd
    for sd in all_of("StructureDefinition")
    if sd.get("derivation") == "specialization"
    and sd.get("kind") in ("resource", "complex-type", "primitive-type")
]
resource_types = sorted(
    sd["type"] for sd in sds if sd["kind"] == "resource" and not sd.get("abstract")
)
by_type = {sd["type"]: sd for sd in sds}


def short(url):
    return url.rsplit("/", 1)[-1]


required_sets = set()
elements = {}
for sd in sds:
    rows = []
    for e in sd["snapshot"]["element"]:
        path = e["path"]
        if "." not in path:
            continue
        rel = path.split(".", 1)[1]
        types = []
        for t in e.get("type", []):
            code = t["code"]
            if code.startswith("http://hl7.org/fhirpath/System."):
                code = "System." + code.rsplit(".", 1)[-1]
            targets = sorted({short(p) for p in t.get("targetProfile", [])})
            types.append([code, targets] if targets else [code])
        row = {"p": rel, "min": e.get("min", 0), "max": e.get("max", "*")}
        if types:
            row["t"] = types
        if "contentReference" in e:
            row["ref"] = e["contentReference"].lstrip("#").split(".", 1)[1]
        b = e.get("binding", {})
        if b.get("strength") == "required" and b.get("valueSet"):
            vs = b["valueSet"].split("|")[0]
            row["vs"] = vs
            required_sets.add(vs)
        if e.get("isModifier"):
            row["mod"] = 1
        if e.get("isSummary"):
            row["sum"] = 1
        rows.append(row)
    elements[sd["type"]] = {"kind": sd["kind"], "abstract": bool(sd.get("abstract")),
                            "base": short(sd.get("baseDefinition", "")), "e": rows}

# --- value sets bound `required` -------------------------------------------------------------

code_systems = {cs["url"]: cs for cs in all_of("CodeSystem") if "url" in cs}
value_sets = {vs["url"]: vs for vs in all_of("ValueSet") if "url" in vs}


def cs_codes(cs):
    out = []

    def walk(concepts):
        for c in concepts or []:
            out.append(c["code"])
            walk(c.get("concept"))

    walk(cs.get("concept"))
    return out


def expand(url, seen=()):
    """The codes of a value set as {system: [codes]}, or None when the package cannot say."""
    if url in seen:
        return None
    vs = value_sets.get(url)
    if vs is None:
        return None
    out = {}
    for inc in vs.get("compose", {}).get("include", []):
        if inc.get("filter"):
            return None
        for nested in inc.get("valueSet", []):
            sub = expand(nested.split("|")[0], seen + (url,))
            if sub is None:
                return None
            for system, codes in sub.items():
                out.setdefault(system, []).extend(codes)
        system = inc.get("system")
        if not system:
            continue
        if inc.get("concept"):
            out.setdefault(system, []).extend(c["code"] for c in inc["concept"])
        else:
            cs = code_systems.get(system)
            if cs is None or cs.get("content") not in (None, "complete"):
                return None
            out.setdefault(system, []).extend(cs_codes(cs))
    if vs.get("compose", {}).get("exclude"):
        return None
    return {s: sorted(set(c)) for s, c in out.items()}


expanded = {}
for url in sorted(required_sets):
    codes = expand(url)
    if codes is not None:
        expanded[url] = codes

# --- search parameters -----------------------------------------------------------------------


def split_union(expr):
    """The top-level `|` terms of an expression."""
    terms, depth, quote, cur = [], 0, False, ""
    for ch in expr:
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        if ch == "|" and depth == 0 and not quote:
            terms.append(cur.strip())
            cur = ""
        else:
            cur += ch
    terms.append(cur.strip())
    return [t for t in terms if t]


def root_of(term):
    t = term.lstrip("(")
    name = ""
    for ch in t:
        if ch.isalnum():
            name += ch
        else:
            break
    return name


search_params = all_of("SearchParameter")
by_url = {sp["url"]: sp for sp in search_params}
SKIP_CODES = {"_id", "_lastUpdated", "_query", "_filter", "_content", "_text"}
params = {t: {} for t in resource_types}


def core_rank(sp):
    # The spec's own parameters before those of its extension packages.
    return 0 if "-extensions-" not in sp["id"] and "genetic" not in sp["id"] else 1


for sp in sorted(search_params, key=lambda s: (core_rank(s), s["id"])):
    code = sp["code"]
    expr = sp.get("expression")
    if code in SKIP_CODES or not expr or sp["type"] == "special":
        continue
    if "example.org" in sp["url"]:
        continue
    bases = sp.get("base") or []
    if bases == ["Resource"] or bases == ["DomainResource"]:
        bases = resource_types
    for base in bases:
        if base not in params:
            continue
        terms = [
            t for t in split_union(expr)
            if root_of(t) in (base, "Resource", "DomainResource")
        ]
        if not terms:
            continue
        if code in params[base]:
            continue
        row = {"k": sp["type"], "e": " | ".join(terms)}
        targets = sorted(set(sp.get("target", [])))
        if targets:
            row["t"] = targets
        comps = []
        for c in sp.get("component", []):
            d = by_url.get(c["definition"])
            if d is None:
                comps = None
                break
            comps.append([d["type"], c["expression"]])
        if sp["type"] == "composite":
            if not comps:
                continue
            row["c"] = comps
        if sp.get("modifier"):
            row["m"] = sp["modifier"]
        if sp.get("comparator"):
            row["cmp"] = sp["comparator"]
        params[base][code] = row

# --- aliases: parameters answered from other parameters' index rows ----------------------------
# `patient` is `subject.where(resolve() is Patient)`: the `subject` rows, of Patient targets.
# `combo-code` is `code | component.code`: the rows of both. A parameter whose terms are those
# of others stores no rows of its own, so each value is indexed once.

RESOLVE = re.compile(r"^(.*)\.where\(resolve\(\) is ([A-Za-z]+)\)$")


def terms_of(row):
    return frozenset(" ".join(t.split()) for t in split_union(row["e"]))


def key_of(row):
    return (row["k"], tuple(map(tuple, row.get("c", []))))


for rtype, table in params.items():
    names = sorted(table)
    plain = {n: terms_of(table[n]) for n in names}
    owner = {}
    for n in names:
        row = table[n]
        # The same terms as a parameter already seen: that one's rows.
        same = [m for m in names if m < n and "a" not in table[m]
                and plain[m] == plain[n] and key_of(table[m]) == key_of(row)]
        if same:
            row["a"] = [same[0]]
            continue
    for n in names:
        row = table[n]
        if "a" in row or row["k"] != "reference":
            continue
        matches = [RESOLVE.match(t) for t in plain[n]]
        if not all(matches) or len({m.group(2) for m in matches}) != 1:
            continue
        base_terms = frozenset(m.group(1) for m in matches)
        base = [m for m in names if m != n and "a" not in table[m] and table[m]["k"] == "reference"
                and plain[m] == base_terms]
        if base:
            row["a"] = [base[0]]
            row["f"] = matches[0].group(2)
    for n in names:
        row = table[n]
        if "a" in row or len(plain[n]) < 2:
            continue
        parts = [m for m in names if m != n and "a" not in table[m]
                 and key_of(table[m]) == key_of(row) and plain[m] < plain[n]]
        covered, chosen = set(), []
        for m in sorted(parts, key=lambda m: -len(plain[m])):
            if not (plain[m] & covered):
                chosen.append(m)
                covered |= plain[m]
        if covered == plain[n] and len(chosen) >= 2:
            row["a"] = sorted(chosen)

# --- the Patient compartment -----------------------------------------------------------------

cd = load("CompartmentDefinition-patient.json")
compartment = {r["code"]: r["param"] for r in cd["resource"] if r.get("param")}
for rtype, names in compartment.items():
    for n in names:
        if n != "{def}" and n not in params.get(rtype, {}):
            print(f"compartment: {rtype}.{n} is not a search parameter", file=sys.stderr)

# --- types that can hold patient data ------------------------------------------------------
# A type can hold patient data when one of its elements, or of the data types it uses (an
# Annotation's author, a Signature's signer), may reference a Patient or any resource. The
# server's gate treats those as clinical; the rest (practitioners, value sets, slots...)
# as a shared directory. Extensions and contained resources are not followed.


def reaches_patient(tname, seen):
    if tname in seen:
        return False
    seen = seen | {tname}
    info = elements.get(tname)
    if not info:
        return False
    for row in info["e"]:
        if row["p"].split(".")[-1] in ("extension", "modifierExtension", "contained"):
            continue
        for t in row.get("t", []):
            code = t[0]
            targets = t[1] if len(t) > 1 else []
            if code == "Reference" and (not targets or "Patient" in targets or "Resource" in targets):
                return True
            if code == "Resource":
                return True
            if code in elements and elements[code]["kind"] == "complex-type" and code not in (
                    "Extension", "Reference", "Meta", "Narrative"):
                if reaches_patient(code, seen):
                    return True
    return False


def is_definition(tname):
    # Canonical resources (a `url` and a `version`: Questionnaire, StructureDefinition...)
    # define things; an answer option that could name anyone does not make them patient data.
    types = {row["p"]: [t[0] for t in row.get("t", [])] for row in elements[tname]["e"]}
    return types.get("url") == ["uri"] and types.get("version") == ["string"]


patient_data = sorted(
    t for t in resource_types if reaches_patient(t, frozenset()) and not is_definition(t)
)

dump("search-parameters.json", {"source": SOURCE, "types": resource_types, "params": params})
dump("compartment.json", {"source": SOURCE, "patient": compartment, "patient_data": patient_data})
dump("elements.json", {"source": SOURCE, "types": elements})
dump("valuesets.json", {"source": SOURCE, "required": expanded,
                        "unexpanded": sorted(required_sets - set(expanded))})
n_params = sum(len(p) for p in params.values())
print(f"{len(resource_types)} resource types, {n_params} search parameters, "
      f"{len(elements)} structures, {len(expanded)} of {len(required_sets)} required value sets")

with open(os.path.join(OUT, "types.rs"), "w", encoding="utf-8") as f:
    f.write("// Generated by tools/fhir-r4/generate.py from " + SOURCE + ". Do not edit.\n\n")
    f.write("/// Every resource type of FHIR R4, sorted (binary search, stable listings).\n")
    f.write("pub const RESOURCE_TYPES: &[&str] = &[\n")
    for t in resource_types:
        f.write(f"    \"{t}\",\n")
    f.write("];\n")
