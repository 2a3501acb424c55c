import org.apache.kafka.connect.runtime.distributed.ConnectProtocol;
import org.apache.kafka.connect.runtime.distributed.ExtendedAssignment;
import org.apache.kafka.connect.runtime.distributed.ExtendedWorkerState;
import org.apache.kafka.connect.runtime.distributed.IncrementalCooperativeConnectProtocol;
import org.apache.kafka.connect.util.ConnectorTaskId;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * Kafka Connect's own worker group protocol classes, driven by its arguments, one request each:
 *   meta|V|url|offset|ASG-or-"-"     -> hex of the member metadata Connect writes
 *   asg|V|error|leader|leaderUrl|offset|conns|tasks|revConns|revTasks|delay -> hex of the assignment
 *   dmeta|hex / dasg|hex             -> Connect's reading of the bytes, as canonical text
 * Lists are comma-separated; a task is connector:N. In `meta`, ASG is the asg fields after "asg|".
 */
public class ConnectProtocolDiff {
    static List<String> conns(String s) {
        List<String> out = new ArrayList<>();
        if (!s.isEmpty()) for (String c : s.split(",", -1)) out.add(c);
        return out;
    }

    static List<ConnectorTaskId> tasks(String s) {
        List<ConnectorTaskId> out = new ArrayList<>();
        if (!s.isEmpty()) for (String t : s.split(",", -1)) {
            int i = t.lastIndexOf(':');
            out.add(new ConnectorTaskId(t.substring(0, i), Integer.parseInt(t.substring(i + 1))));
        }
        return out;
    }

    static ExtendedAssignment assignment(String[] f, int at) {
        return new ExtendedAssignment(Short.parseShort(f[at]), Short.parseShort(f[at + 1]), f[at + 2], f[at + 3],
            Long.parseLong(f[at + 4]), conns(f[at + 5]), tasks(f[at + 6]), conns(f[at + 7]), tasks(f[at + 8]),
            Integer.parseInt(f[at + 9]));
    }

    static String hex(ByteBuffer b) {
        StringBuilder sb = new StringBuilder();
        ByteBuffer d = b.duplicate();
        while (d.hasRemaining()) sb.append(String.format("%02x", d.get() & 0xff));
        return sb.toString();
    }

    static ByteBuffer unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return ByteBuffer.wrap(out);
    }

    static String sorted(Collection<?> c) {
        TreeSet<String> s = new TreeSet<>();
        for (Object o : c) s.add(o.toString());
        return String.join(",", s);
    }

    static String text(ExtendedAssignment a) {
        if (a == null) return "null";
        return "v" + a.version() + " err=" + a.error() + " leader=" + a.leader() + " url=" + a.leaderUrl()
            + " offset=" + a.offset() + " conns=[" + sorted(a.connectors()) + "] tasks=[" + sorted(a.tasks())
            + "] rconns=[" + sorted(a.revokedConnectors()) + "] rtasks=[" + sorted(a.revokedTasks())
            + "] delay=" + a.delay();
    }

    public static void main(String[] args) {
        for (String line : args) {
            String[] f = line.split("\\|", -1);
            switch (f[0]) {
                case "meta": {
                    short v = Short.parseShort(f[1]);
                    long offset = Long.parseLong(f[3]);
                    if (v == 0) {
                        System.out.println(hex(ConnectProtocol.serializeMetadata(new ConnectProtocol.WorkerState(f[2], offset))));
                    } else {
                        ExtendedAssignment a = f[4].equals("-") ? null : assignment(f, 5);
                        System.out.println(hex(IncrementalCooperativeConnectProtocol.serializeMetadata(
                            new ExtendedWorkerState(f[2], offset, a), v == 2)));
                    }
                    break;
                }
                case "asg": {
                    ExtendedAssignment a = assignment(f, 1);
                    if (a.version() == 0) {
                        System.out.println(hex(ConnectProtocol.serializeAssignment(new ConnectProtocol.Assignment(
                            a.error(), a.leader(), a.leaderUrl(), a.offset(), a.connectors(), a.tasks()))));
                    } else {
                        System.out.println(hex(IncrementalCooperativeConnectProtocol.serializeAssignment(a, a.version() == 2)));
                    }
                    break;
                }
                case "dmeta": {
                    ExtendedWorkerState s = IncrementalCooperativeConnectProtocol.deserializeMetadata(unhex(f[1]));
                    ExtendedAssignment a = s.assignment() == ExtendedAssignment.empty() ? null : s.assignment();
                    System.out.println("url=" + s.url() + " offset=" + s.offset() + " alloc=" + text(a));
                    break;
                }
                case "dasg":
                    System.out.println(text(IncrementalCooperativeConnectProtocol.deserializeAssignment(unhex(f[1]))));
                    break;
                default:
                    throw new IllegalArgumentException("unknown line: " + line);
            }
        }
    }
}
