#!/usr/bin/env python3
"""Generates crates/protocol-client/src/protocol/shapes.rs from Apache Kafka's message specs.

The shapes are the *wire layout* of every response kaflow reads (field types, the versions a field
exists in, nullable/tagged versions, flexible versions): enough for protocol/bounds.rs to walk a
response and prove that every array count and length fits in the bytes received *before*
kafka-protocol decodes it (kafka-protocol 0.18 pre-allocates `Vec::with_capacity(count)` from the
wire count, so an 11-byte frame claiming 2^31 elements would abort the process; invariant I11).

The specs are read from the kafka-clients jar the test harness already fetches
(`scripts/kafka.sh fetch`), where Kafka ships them as common/message/*.json.

  tools/wire-shapes/gen.py            rewrite shapes.rs
  tools/wire-shapes/gen.py --check    exit 1 if shapes.rs differs from what the jar gives
"""

import glob
import json
import os
import re
import sys
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "crates/protocol-client/src/protocol/shapes.rs")
# The responses kaflow decodes: the API names of protocol/mod.rs's `requests!` table.
APIS = [
    "Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator",
    "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ApiVersions", "CreateTopics",
    "DeleteTopics", "InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit",
    "DescribeConfigs", "IncrementalAlterConfigs", "DescribeCluster", "CreatePartitions", "DeleteRecords",
    "DeleteGroups", "OffsetDelete",
]
PRIMS = {
    "bool": "Bool", "int8": "Int8", "int16": "Int16", "uint16": "Uint16", "int32": "Int32",
    "uint32": "Uint32", "int64": "Int64", "float64": "Float64", "uuid": "Uuid", "string": "String",
    "bytes": "Bytes", "records": "Records",
}
NONE = (1, 0)  # an empty range


def strip_comments(text):
    """Drops // comments outside strings (the specs are JSON with comments)."""
    out, i, in_str = [], 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def versions(spec, default=NONE):
    if spec is None:
        return default
    spec = spec.strip()
    if spec == "none":
        return NONE
    if spec.endswith("+"):
        return (int(spec[:-1]), 0x7FFF)
    if "-" in spec:
        lo, hi = spec.split("-")
        return (int(lo), int(hi))
    return (int(spec), int(spec))


def rust_name(*parts):
    return "_".join(re.sub(r"(?<!^)(?=[A-Z])", "_", p).upper() for p in parts)


class Gen:
    def __init__(self):
        self.consts = []

    def fields(self, msg, path, fields, common, flexible):
        items = []
        for f in fields:
            ty = f["type"]
            is_array = ty.startswith("[]")
            base = ty[2:] if is_array else ty
            if base in PRIMS:
                inner = "Ty::" + PRIMS[base]
            else:
                sub = f.get("fields")
                if sub is None:
                    sub = common[base]
                const = rust_name(msg, *path, base)
                if const not in [c for c, _ in self.consts]:
                    self.consts.append((const, None))
                    body = self.fields(msg, path + [base], sub, common, flexible)
                    self.consts[[c for c, _ in self.consts].index(const)] = (const, body)
                inner = f"Ty::Struct({const})"
            ty_expr = f"Ty::Array(&{inner})" if is_array else inner
            v = versions(f.get("versions"))
            nv = versions(f.get("nullableVersions"))
            tv = versions(f.get("taggedVersions"))
            tag = f.get("tag", 0)
            fv = versions(f.get("flexibleVersions"), flexible)
            items.append(
                f'    Field {{ name: "{f["name"]}", ty: {ty_expr}, versions: V({v[0]}, {v[1]}), '
                f"nullable: V({nv[0]}, {nv[1]}), tagged: V({tv[0]}, {tv[1]}), tag: {tag}, "
                f"flexible: V({fv[0]}, {fv[1]}) }},"
            )
        return items


def main():
    check = "--check" in sys.argv[1:]
    jars = sorted(glob.glob(os.path.join(ROOT, "target/kafka/libs/kafka-clients-*.jar")))
    if not jars:
        sys.exit("gen.py: no kafka-clients jar in target/kafka/libs (run scripts/kafka.sh fetch)")
    jar = jars[-1]
    gen = Gen()
    shapes = []
    with zipfile.ZipFile(jar) as z:
        for api in APIS:
            spec = json.loads(strip_comments(z.read(f"common/message/{api}Response.json").decode()))
            common = {c["name"]: c["fields"] for c in spec.get("commonStructs", [])}
            flexible = versions(spec.get("flexibleVersions"))
            valid = versions(spec["validVersions"])
            body = gen.fields(api, [], spec["fields"], common, flexible)
            const = rust_name(api, "Response")
            gen.consts.append((const, body))
            shapes.append((api, spec["apiKey"], valid, flexible, const))
    out = [
        "// @generated by tools/wire-shapes/gen.py from Apache Kafka's message specs",
        f"// ({os.path.basename(jar)}, common/message/*Response.json). Do not edit by hand.",
        "",
        "use super::bounds::{Field, Shape, Ty, V};",
        "",
    ]
    for const, body in gen.consts:
        out.append(f"const {const}: &[Field] = &[")
        out.extend(body)
        out.append("];")
        out.append("")
    out.append("/// The response shape for an API key, if kaflow reads that API.")
    out.append("pub fn response(api_key: i16) -> Option<&'static Shape> {")
    out.append("    match api_key {")
    for api, key, valid, flex, const in shapes:
        out.append(
            f'        {key} => Some(&Shape {{ name: "{api}Response", valid: V({valid[0]}, {valid[1]}), '
            f"flexible: V({flex[0]}, {flex[1]}), fields: {const} }}),"
        )
    out.append("        _ => None,")
    out.append("    }")
    out.append("}")
    text = "\n".join(out) + "\n"
    if check:
        current = open(OUT).read() if os.path.exists(OUT) else ""
        if current != text:
            sys.exit(f"gen.py --check: {OUT} is stale; run tools/wire-shapes/gen.py")
        return
    with open(OUT, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
