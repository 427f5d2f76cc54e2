package io.kmf.examples;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import sun.misc.Signal;

/**
 * Exactly-once word count: every record value of IN_TOPIC is split into lower-case words, and each word's running
 * count goes to OUT_TOPIC with the word as key and the count as a UTF-8 decimal string as value.
 *
 * <p>Configured only through the environment, because it runs as a Mesos task:
 * BOOTSTRAP_SERVERS, IN_TOPIC (words-in), OUT_TOPIC (word-counts), APPLICATION_ID (wordcount), STATE_DIR
 * (else $MESOS_SANDBOX/state), REPLICATION_FACTOR (-1: the broker's default), GROUP_INSTANCE_ID (static
 * membership, so a restarted instance gets its partitions back without a rebalance), PORT (GET /state; bound to
 * KMF_HOST when that is an IP address), and
 * KMF_STREAMS_CONFIG: any further Streams/client settings as Java properties text (one key=value a line), which kmf
 * fills from the app spec's streamsConfig plus what it manages (application.id, bootstrap.servers,
 * group.instance.id, state.dir); those lines win over the variables above.
 *
 * <p>Readiness: stdout gets one line per state transition, {@code STATE <new> <old>}; {@code STATE RUNNING} means
 * ready. SIGTERM/SIGINT close the client (10 s at most) and exit 0; the ERROR state exits 1.
 */
public final class WordCount {
  private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");
  private static final Pattern IPV4 = Pattern.compile("^\\d{1,3}(\\.\\d{1,3}){3}$");
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  private WordCount() {}

  /** Lower-cases a line and splits it on every run of characters that are neither letters nor digits. */
  static List<String> words(String line) {
    if (line == null) {
      return List.of();
    }
    return Arrays.stream(NON_WORD.split(line.toLowerCase(Locale.ROOT))).filter(w -> !w.isEmpty()).toList();
  }

  static Topology topology(String inTopic, String outTopic) {
    StreamsBuilder builder = new StreamsBuilder();
    builder
        .stream(inTopic, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(WordCount::words)
        .groupBy((key, word) -> word, Grouped.with("by-word", Serdes.String(), Serdes.String()))
        .count(Materialized.as("word-counts-store"))
        .toStream()
        .mapValues(count -> Long.toString(count))
        .to(outTopic, Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  static Properties config() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, env("APPLICATION_ID", "wordcount"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, env("BOOTSTRAP_SERVERS", "127.0.0.1:9092"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, Integer.parseInt(env("REPLICATION_FACTOR", "-1")));
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    String stateDir = System.getenv("STATE_DIR");
    String sandbox = System.getenv("MESOS_SANDBOX");
    if (stateDir != null && !stateDir.isEmpty()) {
      p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    } else if (sandbox != null && !sandbox.isEmpty()) {
      p.put(StreamsConfig.STATE_DIR_CONFIG, Path.of(sandbox, "state").toString());
    }
    String instance = System.getenv("GROUP_INSTANCE_ID");
    if (instance != null && !instance.isEmpty()) {
      p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), instance);
    }
    String extra = System.getenv("KMF_STREAMS_CONFIG");
    if (extra != null && !extra.isEmpty()) {
      Properties given = new Properties();
      try {
        given.load(new StringReader(extra));
      } catch (IOException e) {
        throw new IllegalArgumentException("KMF_STREAMS_CONFIG is not Java properties text", e);
      }
      p.putAll(given);
    }
    return p;
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  /**
   * Where GET /state listens: the agent's address when kmf gives one as an IP literal in KMF_HOST (agents that
   * share one machine but have addresses of their own, like kmf's simulator, hand out the same port numbers), else
   * every interface. A host name is not bound to: it may resolve to a loopback alias on the agent itself.
   */
  static InetSocketAddress bindAddress(int port) {
    String host = System.getenv("KMF_HOST");
    boolean ipLiteral = host != null && (IPV4.matcher(host).matches() || (host.contains(":") && !host.contains("/")));
    return ipLiteral ? new InetSocketAddress(host, port) : new InetSocketAddress(port);
  }

  /**
   * GET /state answers the client's state; 200 while it is (or may soon be again) processing, 503 otherwise. The body
   * is {"state":"RUNNING"} when the request accepts application/json (kmf's readiness probe asks for it), else the
   * bare state name and a newline.
   */
  private static HttpServer stateServer(int port, KafkaStreams streams) throws IOException {
    HttpServer server = HttpServer.create(bindAddress(port), 0);
    server.createContext("/state", exchange -> {
      try (exchange) {
        if (!"GET".equals(exchange.getRequestMethod())) {
          exchange.sendResponseHeaders(405, -1);
          return;
        }
        KafkaStreams.State state = streams.state();
        boolean healthy = state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING;
        String accept = exchange.getRequestHeaders().getFirst("Accept");
        boolean json = accept != null && accept.contains("application/json");
        String text = json ? "{\"state\":\"" + state.name() + "\"}" : state.name() + "\n";
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", json ? "application/json" : "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(healthy ? 200 : 503, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    });
    server.start();
    return server;
  }

  public static void main(String[] args) throws Exception {
    KafkaStreams streams = new KafkaStreams(topology(env("IN_TOPIC", "words-in"), env("OUT_TOPIC", "word-counts")), config());
    CountDownLatch stop = new CountDownLatch(1);
    AtomicBoolean failed = new AtomicBoolean(false);

    streams.setStateListener((now, before) -> {
      System.out.println("STATE " + now + " " + before);
      System.out.flush();
      if (now == KafkaStreams.State.ERROR) {
        failed.set(true);
        stop.countDown();
      }
    });
    // An exception nobody handles ends this client (ERROR state, exit 1); Mesos relaunches the task, which then
    // resumes from the last committed transaction.
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("uncaught exception in a stream thread: " + e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });

    // Signal handlers instead of a shutdown hook: a hook cannot choose the exit code (SIGTERM would give 143),
    // and the contract is exit 0 after a clean close.
    Signal.handle(new Signal("TERM"), sig -> stop.countDown());
    Signal.handle(new Signal("INT"), sig -> stop.countDown());

    String port = System.getenv("PORT");
    HttpServer http = port == null || port.isEmpty() ? null : stateServer(Integer.parseInt(port), streams);

    streams.start();
    stop.await();
    boolean closed = streams.close(CLOSE_TIMEOUT);
    if (http != null) {
      http.stop(0);
    }
    System.out.println("STOPPED " + (failed.get() ? "error" : "clean") + (closed ? "" : " (close timed out)"));
    System.out.flush();
    System.exit(failed.get() ? 1 : 0);
  }
}
