import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A Java transactional producer for kaflow's read_committed test. Args: bootstrap, topic,
 * partitions, transactions, records per transaction. Transaction t is committed when t % 3 != 1
 * and aborted otherwise; record s of transaction t is "t=<t>;s=<s>;committed|aborted" on
 * partition s % partitions.
 */
public class JavaTxnProducer {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("transactional.id", "kaflow-read-committed-" + args[1]);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        String topic = args[1];
        int partitions = Integer.parseInt(args[2]);
        int txns = Integer.parseInt(args[3]);
        int perTxn = Integer.parseInt(args[4]);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            for (int t = 0; t < txns; t++) {
                boolean commit = t % 3 != 1;
                producer.beginTransaction();
                for (int s = 0; s < perTxn; s++) {
                    String v = "t=" + t + ";s=" + s + ";" + (commit ? "committed" : "aborted");
                    producer.send(new ProducerRecord<>(topic, s % partitions, "k" + s, v));
                }
                if (commit) {
                    producer.commitTransaction();
                } else {
                    producer.flush();
                    producer.abortTransaction();
                }
            }
        }
    }
}
