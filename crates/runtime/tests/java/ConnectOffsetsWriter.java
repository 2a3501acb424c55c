import java.io.FileOutputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes a standalone offsets file the way Kafka Connect's FileOffsetBackingStore.save() does:
 * a Java-serialized HashMap<byte[], byte[]> of offsets-topic keys and values (a null value
 * included). Args: the file, then key/value pairs ("null" for a null value).
 */
public class ConnectOffsetsWriter {
    public static void main(String[] args) throws Exception {
        Map<byte[], byte[]> raw = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            byte[] value = args[i + 1].equals("null") ? null : args[i + 1].getBytes(StandardCharsets.UTF_8);
            raw.put(args[i].getBytes(StandardCharsets.UTF_8), value);
        }
        try (ObjectOutputStream os = new ObjectOutputStream(new FileOutputStream(args[0]))) {
            os.writeObject(raw);
        }
    }
}
