import org.apache.kafka.common.utils.Time;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.runtime.AbstractStatus;
import org.apache.kafka.connect.runtime.ConnectorStatus;
import org.apache.kafka.connect.runtime.TaskStatus;
import org.apache.kafka.connect.runtime.TopicStatus;
import org.apache.kafka.connect.storage.KafkaConfigBackingStore;
import org.apache.kafka.connect.storage.KafkaStatusBackingStore;
import org.apache.kafka.connect.util.ConnectorTaskId;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The config- and status-topic records Kafka Connect writes, built exactly as
 * KafkaConfigBackingStore / KafkaStatusBackingStore build them (their schemas, the worker's
 * schemaless JsonConverter, the status store's own serializer). With no arguments, prints
 * "key<TAB>value" (value "null" for a tombstone) for a fixed list of records that the Rust
 * test mirrors. With arguments "status-connector|name|json" or "status-task|conn|n|json",
 * prints how Connect's status store parses the given bytes; with "config|json", how the
 * worker's converter reads a config value (maps sorted).
 */
public class ConnectRecordsDiff {
    static final JsonConverter CONV = new JsonConverter();

    static String json(org.apache.kafka.connect.data.Schema schema, Struct s) {
        return new String(CONV.fromConnectData("connect-configs", schema, s), StandardCharsets.UTF_8);
    }

    static void out(String key, String value) {
        System.out.println(key + "\t" + value);
    }

    static Map<String, String> props(String... kv) {
        Map<String, String> m = new TreeMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }

    static String canonical(Object o) {
        if (o instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : new TreeMap<>((Map<?, ?>) o).entrySet()) {
                if (sb.length() > 1) sb.append(',');
                sb.append(e.getKey()).append('=').append(canonical(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (o instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            for (Object x : (List<?>) o) {
                if (sb.length() > 1) sb.append(',');
                sb.append(canonical(x));
            }
            return sb.append(']').toString();
        }
        return String.valueOf(o);
    }

    static String status(AbstractStatus<?> s) {
        if (s == null) return "null";
        return s.state() + "|" + s.trace() + "|" + s.workerId() + "|" + s.generation() + "|" + s.version();
    }

    public static void main(String[] args) throws Exception {
        CONV.configure(Collections.singletonMap("schemas.enable", "false"), false);
        KafkaStatusBackingStore store = new KafkaStatusBackingStore(Time.SYSTEM, CONV, null, "diff");
        if (args.length > 0) {
            Method pc = KafkaStatusBackingStore.class.getDeclaredMethod("parseConnectorStatus", String.class, byte[].class);
            Method pt = KafkaStatusBackingStore.class.getDeclaredMethod("parseTaskStatus", ConnectorTaskId.class, byte[].class);
            pc.setAccessible(true);
            pt.setAccessible(true);
            for (String a : args) {
                String[] f = a.split("\\|", -1);
                switch (f[0]) {
                    case "status-connector":
                        System.out.println(status((AbstractStatus<?>) pc.invoke(store, f[1], f[2].getBytes(StandardCharsets.UTF_8))));
                        break;
                    case "status-task":
                        System.out.println(status((AbstractStatus<?>) pt.invoke(store,
                            new ConnectorTaskId(f[1], Integer.parseInt(f[2])), f[3].getBytes(StandardCharsets.UTF_8))));
                        break;
                    case "config":
                        System.out.println(canonical(CONV.toConnectData("connect-configs", f[1].getBytes(StandardCharsets.UTF_8)).value()));
                        break;
                    default:
                        throw new IllegalArgumentException(a);
                }
            }
            return;
        }
        Struct c = new Struct(KafkaConfigBackingStore.CONNECTOR_CONFIGURATION_V0);
        c.put("properties", props("connector.class", "FileStreamSource", "file", "/tmp/\u00fc \"q\"\n\u0001\\", "tasks.max", "2"));
        out(KafkaConfigBackingStore.CONNECTOR_KEY("my-src"), json(KafkaConfigBackingStore.CONNECTOR_CONFIGURATION_V0, c));
        out(KafkaConfigBackingStore.CONNECTOR_KEY("gone"), "null");
        Struct t = new Struct(KafkaConfigBackingStore.TASK_CONFIGURATION_V0);
        t.put("properties", props("task.class", "X", "topic", "t-\ud83d\ude00"));
        out(KafkaConfigBackingStore.TASK_KEY(new ConnectorTaskId("my-src", 11)), json(KafkaConfigBackingStore.TASK_CONFIGURATION_V0, t));
        Struct commit = new Struct(KafkaConfigBackingStore.CONNECTOR_TASKS_COMMIT_V0);
        commit.put("tasks", 12);
        out(KafkaConfigBackingStore.COMMIT_TASKS_KEY("my-src"), json(KafkaConfigBackingStore.CONNECTOR_TASKS_COMMIT_V0, commit));
        for (String[] st : new String[][] {{"STOPPED", "PAUSED"}, {"PAUSED", "PAUSED"}, {"STARTED", "STARTED"}}) {
            Struct ts = new Struct(KafkaConfigBackingStore.TARGET_STATE_V1);
            ts.put("state", st[1]);
            ts.put("state.v2", st[0]);
            out(KafkaConfigBackingStore.TARGET_STATE_KEY("c-" + st[0]), json(KafkaConfigBackingStore.TARGET_STATE_V1, ts));
        }
        out(KafkaConfigBackingStore.TARGET_STATE_KEY("gone"), "null");
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) key[i] = (byte) (i * 37 + 5);
        Struct sk = new Struct(KafkaConfigBackingStore.SESSION_KEY_V0);
        sk.put("key", Base64.getEncoder().encodeToString(key));
        sk.put("algorithm", "HmacSHA256");
        sk.put("creation-timestamp", 1764800000123L);
        out(KafkaConfigBackingStore.SESSION_KEY_KEY, json(KafkaConfigBackingStore.SESSION_KEY_V0, sk));
        Struct r = new Struct(KafkaConfigBackingStore.RESTART_REQUEST_V0);
        r.put(KafkaConfigBackingStore.INCLUDE_TASKS_FIELD_NAME, true);
        r.put(KafkaConfigBackingStore.ONLY_FAILED_FIELD_NAME, false);
        out(KafkaConfigBackingStore.RESTART_KEY("my-src"), json(KafkaConfigBackingStore.RESTART_REQUEST_V0, r));
        Struct tc = new Struct(KafkaConfigBackingStore.TASK_COUNT_RECORD_V0);
        tc.put("task-count", 3);
        out(KafkaConfigBackingStore.TASK_COUNT_RECORD_KEY("my-src"), json(KafkaConfigBackingStore.TASK_COUNT_RECORD_V0, tc));
        Struct ll = new Struct(KafkaConfigBackingStore.LOGGER_LEVEL_V0);
        ll.put("level", "DEBUG");
        out(KafkaConfigBackingStore.LOGGER_CLUSTER_KEY("org.apache.kafka"), json(KafkaConfigBackingStore.LOGGER_LEVEL_V0, ll));

        Method ser = KafkaStatusBackingStore.class.getDeclaredMethod("serialize", AbstractStatus.class);
        ser.setAccessible(true);
        Method sts = KafkaStatusBackingStore.class.getDeclaredMethod("serializeTopicStatus", TopicStatus.class);
        sts.setAccessible(true);
        out(KafkaStatusBackingStore.CONNECTOR_STATUS_PREFIX + "my-src", new String((byte[]) ser.invoke(store,
            new ConnectorStatus("my-src", AbstractStatus.State.RUNNING, "w1:8083", 3)), StandardCharsets.UTF_8));
        out(KafkaStatusBackingStore.TASK_STATUS_PREFIX + "my-src-1", new String((byte[]) ser.invoke(store,
            new TaskStatus(new ConnectorTaskId("my-src", 1), AbstractStatus.State.FAILED, "w2:8083", 7,
                "org.x.Boom: \"bad\"\n\tat X.y(X.java:1)\u001f", "4.3.1")), StandardCharsets.UTF_8));
        out(KafkaStatusBackingStore.TASK_STATUS_PREFIX + "my-src-2", "null");
        out(KafkaStatusBackingStore.TOPIC_STATUS_PREFIX + "orders" + KafkaStatusBackingStore.TOPIC_STATUS_SEPARATOR + "my-src",
            new String((byte[]) sts.invoke(store, new TopicStatus("orders", "my-src", 0, 1764800000456L)), StandardCharsets.UTF_8));
    }
}
