// JsonConverter parity checker for crates/runtime/tests/converter_json_parity.rs.
//
//   java JsonParity write        -> one line per (case, config): case \t config \t OK \t base64(json)
//                                   | NULL | ERROR \t message, serialized by Kafka's JsonConverter
//   java JsonParity values FILE  -> for each base64 line of text: Values.parseString's schema (described)
//                                   and Values.convertToString of the value, both base64
//   java JsonParity read FILE    -> reads kaflow's lines (case \t config \t base64|NULL) with Kafka's
//                                   JsonConverter and compares with what it reads from its own JSON
//                                   for the case: case \t config \t OK | MISMATCH \t detail | ERROR \t message
//
// The cases here and in the Rust test are built the same way, by name.

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.*;

import org.apache.kafka.connect.data.*;
import org.apache.kafka.connect.json.JsonConverter;

public class JsonParity {
    static final String[] CONFIGS = {"schemas", "noschemas", "numeric", "nodefault"};

    static JsonConverter converter(String config) {
        Map<String, Object> p = new HashMap<>();
        p.put("schemas.enable", config.equals("noschemas") ? "false" : "true");
        if (config.equals("numeric")) p.put("decimal.format", "NUMERIC");
        if (config.equals("nodefault")) p.put("replace.null.with.default", "false");
        JsonConverter c = new JsonConverter();
        c.configure(p, false);
        return c;
    }

    static Schema inner() {
        return SchemaBuilder.struct().name("com.example.Inner").version(2).doc("inner doc")
            .field("id", Schema.INT64_SCHEMA)
            .field("label", SchemaBuilder.string().optional().defaultValue("none").build())
            .build();
    }

    static Schema everything() {
        return SchemaBuilder.struct().name("com.example.Everything").version(3).doc("all the types")
            .parameter("p1", "v1").parameter("a0", "v0")
            .field("i8", Schema.INT8_SCHEMA)
            .field("i16", Schema.INT16_SCHEMA)
            .field("i32", Schema.INT32_SCHEMA)
            .field("i64", Schema.INT64_SCHEMA)
            .field("f32", Schema.FLOAT32_SCHEMA)
            .field("f64", Schema.FLOAT64_SCHEMA)
            .field("bool", Schema.BOOLEAN_SCHEMA)
            .field("str", Schema.STRING_SCHEMA)
            .field("bytes", Schema.BYTES_SCHEMA)
            .field("opt_str", Schema.OPTIONAL_STRING_SCHEMA)
            .field("def_i32", SchemaBuilder.int32().optional().defaultValue(7).build())
            .field("arr", SchemaBuilder.array(Schema.INT32_SCHEMA).build())
            .field("map", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.FLOAT64_SCHEMA).build())
            .field("imap", SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.STRING_SCHEMA).optional().build())
            .field("dec", Decimal.schema(3))
            .field("date", org.apache.kafka.connect.data.Date.SCHEMA)
            .field("time", Time.SCHEMA)
            .field("ts", Timestamp.SCHEMA)
            .field("inner", inner())
            .field("inners", SchemaBuilder.array(inner()).optional().build())
            .build();
    }

    static Struct innerValue(long id, String label) {
        Struct s = new Struct(inner()).put("id", id);
        if (label != null) s.put("label", label);
        return s;
    }

    static Object[] c(Schema s, Object v) {
        return new Object[]{s, v};
    }

    static LinkedHashMap<String, Object[]> cases() {
        LinkedHashMap<String, Object[]> m = new LinkedHashMap<>();
        m.put("int8", c(Schema.INT8_SCHEMA, (byte) -42));
        m.put("int16", c(Schema.INT16_SCHEMA, (short) -1234));
        m.put("int32", c(Schema.INT32_SCHEMA, 123456789));
        m.put("int64", c(Schema.INT64_SCHEMA, Long.MIN_VALUE));
        m.put("float32", c(Schema.FLOAT32_SCHEMA, 0.3f));
        m.put("float64", c(Schema.FLOAT64_SCHEMA, 1.0E20));
        m.put("float64s", c(SchemaBuilder.array(Schema.FLOAT64_SCHEMA).build(), Arrays.asList(
            0.1, 1.0E-5, 123456789.0, 1.0E7, 9999999.0, 0.001, -0.0, 4.9E-324, 1.7976931348623157E308, 100.0, 0.30000000000000004)));
        m.put("float32s", c(SchemaBuilder.array(Schema.FLOAT32_SCHEMA).build(), Arrays.asList(
            0.1f, 1.0E-5f, 1.23456792E8f, 1.0E7f, 3.4028235E38f, 1.4E-45f, 16777216f)));
        m.put("boolean", c(Schema.BOOLEAN_SCHEMA, true));
        m.put("string", c(Schema.STRING_SCHEMA, "h\u00e9llo \"quoted\" \\ / \n\t\r\b\f \u0001\u001f \u2603 \ud83d\ude00"));
        m.put("bytes", c(Schema.BYTES_SCHEMA, new byte[]{0, 1, 2, (byte) 255, (byte) 254, 127}));
        m.put("empty_bytes", c(Schema.OPTIONAL_BYTES_SCHEMA, new byte[0]));
        m.put("array_int32", c(SchemaBuilder.array(Schema.INT32_SCHEMA).build(), Arrays.asList(1, 2, 3)));
        m.put("array_opt_string", c(SchemaBuilder.array(Schema.OPTIONAL_STRING_SCHEMA).optional().build(),
            Arrays.asList("a", null, "c")));
        LinkedHashMap<String, Integer> sm = new LinkedHashMap<>();
        sm.put("a", 1);
        sm.put("b", 2);
        m.put("map_string_int", c(SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT32_SCHEMA).build(), sm));
        LinkedHashMap<Integer, String> im = new LinkedHashMap<>();
        im.put(1, "one");
        im.put(2, "two");
        m.put("map_int_string", c(SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.STRING_SCHEMA).build(), im));
        m.put("decimal", c(Decimal.schema(2), new BigDecimal("12345.67")));
        m.put("decimal_negative", c(Decimal.schema(5), new BigDecimal("-0.00001")));
        m.put("decimal_big", c(Decimal.builder(4).optional().build(),
            new BigDecimal("-123456789012345678901234567890.1234")));
        m.put("date", c(org.apache.kafka.connect.data.Date.SCHEMA, new java.util.Date(19753L * 86400000L)));
        m.put("time", c(Time.SCHEMA, new java.util.Date(45000123L)));
        m.put("timestamp", c(Timestamp.SCHEMA, new java.util.Date(1700000000123L)));
        m.put("optional_null", c(Schema.OPTIONAL_STRING_SCHEMA, null));
        m.put("default_used", c(SchemaBuilder.int32().optional().defaultValue(7).build(), null));
        m.put("decimal_default", c(Decimal.builder(2).defaultValue(new BigDecimal("1.50")).build(),
            new BigDecimal("-2.25")));

        Struct e = new Struct(everything())
            .put("i8", (byte) 1).put("i16", (short) 2).put("i32", 3).put("i64", 4L)
            .put("f32", 5.5f).put("f64", 6.25).put("bool", false).put("str", "seven")
            .put("bytes", new byte[]{8, 9})
            .put("arr", Arrays.asList(10, 11))
            .put("map", new LinkedHashMap<>(Map.of("twelve", 12.0)))
            .put("dec", new BigDecimal("13.140"))
            .put("date", new java.util.Date(0L))
            .put("time", new java.util.Date(86400000L))
            .put("ts", new java.util.Date(-1L))
            .put("inner", innerValue(15L, null))
            .put("inners", Arrays.asList(innerValue(16L, "x"), innerValue(17L, null)));
        m.put("struct_everything", c(everything(), e));
        Struct e2 = new Struct(everything())
            .put("i8", Byte.MIN_VALUE).put("i16", Short.MAX_VALUE).put("i32", Integer.MIN_VALUE)
            .put("i64", Long.MAX_VALUE).put("f32", -0.0f).put("f64", 1e-300).put("bool", true)
            .put("str", "").put("bytes", new byte[0]).put("opt_str", "present").put("def_i32", -7)
            .put("arr", new ArrayList<Integer>())
            .put("map", new LinkedHashMap<String, Double>())
            .put("imap", new LinkedHashMap<>(Map.of(-1, "minus one")))
            .put("dec", new BigDecimal("-0.001"))
            .put("date", new java.util.Date(-86400000L))
            .put("time", new java.util.Date(0L))
            .put("ts", new java.util.Date(253402300799999L))
            .put("inner", innerValue(0L, "l"));
        m.put("struct_edges", c(everything(), e2));

        // Schemaless: what a connector hands over without schemas (maps, lists, primitives).
        LinkedHashMap<String, Object> sl = new LinkedHashMap<>();
        sl.put("long", 1L);
        sl.put("double", 2.5);
        sl.put("str", "s");
        sl.put("bool", true);
        sl.put("null", null);
        sl.put("list", Arrays.asList(1L, "x", false, null));
        LinkedHashMap<String, Object> nested = new LinkedHashMap<>();
        nested.put("deep", Arrays.asList(Arrays.asList(1L, 2L), new LinkedHashMap<>()));
        sl.put("nested", nested);
        m.put("schemaless_map", c(null, sl));
        LinkedHashMap<Object, Object> nsk = new LinkedHashMap<>();
        nsk.put(1L, "a");
        nsk.put("b", 2L);
        m.put("schemaless_mixed_keys", c(null, nsk));
        m.put("schemaless_string", c(null, "just a string"));
        m.put("schemaless_long", c(null, 42L));
        m.put("tombstone", c(null, null));
        return m;
    }

    public static void main(String[] args) throws Exception {
        java.io.PrintStream out = new java.io.PrintStream(System.out, true, "UTF-8");
        Base64.Encoder b64 = Base64.getEncoder();
        if (args[0].equals("write")) {
            for (Map.Entry<String, Object[]> e : cases().entrySet()) {
                for (String config : CONFIGS) {
                    String prefix = e.getKey() + "\t" + config + "\t";
                    try {
                        byte[] b = converter(config).fromConnectData("t", (Schema) e.getValue()[0], e.getValue()[1]);
                        out.println(prefix + (b == null ? "NULL" : "OK\t" + b64.encodeToString(b)));
                    } catch (Exception ex) {
                        out.println(prefix + "ERROR\t" + oneLine(ex));
                    }
                }
            }
        } else if (args[0].equals("values")) {
            // SimpleHeaderConverter's text rules: Values.parseString then Values.convertToString.
            Base64.Decoder d = Base64.getDecoder();
            for (String line : Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8)) {
                String text = new String(d.decode(line), StandardCharsets.UTF_8);
                try {
                    SchemaAndValue sv = Values.parseString(text);
                    if (sv == null) sv = SchemaAndValue.NULL; // parseString("null") returns null itself
                    String str = sv.value() == null ? "NULL" : Values.convertToString(sv.schema(), sv.value());
                    out.println(line + "\t" + b64.encodeToString(describe(sv.schema()).getBytes(StandardCharsets.UTF_8))
                        + "\t" + b64.encodeToString(str.getBytes(StandardCharsets.UTF_8)));
                } catch (Exception ex) {
                    out.println(line + "\tERROR\t" + oneLine(ex));
                }
            }
        } else if (args[0].equals("read")) {
            LinkedHashMap<String, Object[]> cases = cases();
                        for (String line : Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8)) {
                String[] f = line.split("\t", -1);
                String prefix = f[0] + "\t" + f[1] + "\t";
                Object[] expected = cases.get(f[0]);
                byte[] bytes = f[2].equals("NULL") ? null : Base64.getDecoder().decode(f[2]);
                try {
                    // Kafka reads kaflow's bytes; the result must equal what Kafka reads from its
                    // own serialization of the same case (so Kafka's own read quirks, such as
                    // -0.0 reading as 0.0, apply to both sides alike).
                    JsonConverter conv = converter(f[1]);
                    SchemaAndValue got = conv.toConnectData("t", bytes);
                    byte[] own = conv.fromConnectData("t", (Schema) expected[0], expected[1]);
                    SchemaAndValue want = conv.toConnectData("t", own);
                    boolean ok = Objects.equals(want.schema(), got.schema()) && deepEq(want.value(), got.value());
                    out.println(prefix + (ok ? "OK" : "MISMATCH\texpected " + want.schema() + " " + show(want.value())
                        + " got " + got.schema() + " " + show(got.value())));
                } catch (Exception ex) {
                    out.println(prefix + "ERROR\t" + oneLine(ex));
                }
            }
        }
    }

    static String describe(Schema s) {
        if (s == null) return "null";
        String d = s.type().toString() + (s.name() == null ? "" : ":" + s.name()) + (s.isOptional() ? "?" : "");
        if (s.type() == Schema.Type.ARRAY) d += "<" + describe(s.valueSchema()) + ">";
        if (s.type() == Schema.Type.MAP) d += "<" + describe(s.keySchema()) + "," + describe(s.valueSchema()) + ">";
        return d;
    }

    static String show(Object v) {
        return v instanceof byte[] ? Arrays.toString((byte[]) v) : String.valueOf(v);
    }

    static String oneLine(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (sb.length() > 0) sb.append(" / ");
            sb.append(x.getClass().getSimpleName()).append(": ").append(x.getMessage());
        }
        return sb.toString().replace('\t', ' ').replace('\n', ' ');
    }

    static boolean deepEq(Object a, Object b) {
        if (a instanceof byte[] && b instanceof byte[]) return Arrays.equals((byte[]) a, (byte[]) b);
        if (a instanceof List && b instanceof List) {
            List<?> x = (List<?>) a, y = (List<?>) b;
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!deepEq(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Struct && b instanceof Struct) {
            Struct x = (Struct) a, y = (Struct) b;
            if (!x.schema().equals(y.schema())) return false;
            for (Field f : x.schema().fields()) {
                if (!deepEq(x.getWithoutDefault(f.name()), y.getWithoutDefault(f.name()))) return false;
            }
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) a, y = (Map<?, ?>) b;
            if (x.size() != y.size()) return false;
            for (Map.Entry<?, ?> en : x.entrySet()) {
                if (!y.containsKey(en.getKey()) || !deepEq(en.getValue(), y.get(en.getKey()))) return false;
            }
            return true;
        }
        return Objects.equals(a, b);
    }
}
