package dev.emperor.proxy.l4;

import static dev.emperor.proxy.l4.ClientHellos.body;
import static dev.emperor.proxy.l4.ClientHellos.extension;
import static dev.emperor.proxy.l4.ClientHellos.handshake;
import static dev.emperor.proxy.l4.ClientHellos.helloWithSni;
import static dev.emperor.proxy.l4.ClientHellos.records;
import static dev.emperor.proxy.l4.ClientHellos.serverNames;
import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.l4.ClientHelloSni.Result;
import dev.emperor.proxy.l4.ClientHelloSni.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ClientHelloSniTest {

    private static Result parse(byte[] b) {
        return ClientHelloSni.parse(b);
    }

    @Test
    void findsTheServerNameOfARealJdkClientHello() throws Exception {
        Result r = parse(ClientHellos.fromJdk("shop.example.com"));
        assertThat(r.status()).isEqualTo(Status.FOUND);
        assertThat(r.serverName()).isEqualTo("shop.example.com");
    }

    @Test
    void aRealClientHelloWithoutServerNameIsNoSni() throws Exception {
        assertThat(parse(ClientHellos.fromJdk(null)).status()).isEqualTo(Status.NO_SNI);
    }

    @Test
    void everyProperPrefixOfAClientHelloNeedsMore() throws Exception {
        byte[] hello = ClientHellos.fromJdk("a.example");
        for (int n = 0; n < hello.length; n++) {
            assertThat(parse(Arrays.copyOf(hello, n)).status()).as("prefix %d", n).isEqualTo(Status.NEED_MORE);
        }
    }

    @Test
    void aClientHelloSplitOverManyRecordsIsJoined() throws Exception {
        byte[] hello = ClientHellos.fromJdk("split.example");
        for (int chunk : new int[] {1, 3, 7, 100}) {
            byte[] split = ClientHellos.recut(hello, chunk);
            assertThat(parse(split).serverName()).as("chunk %d", chunk).isEqualTo("split.example");
            assertThat(parse(Arrays.copyOf(split, split.length - 1)).status()).isEqualTo(Status.NEED_MORE);
        }
    }

    @Test
    void bytesAfterTheClientHelloDoNotMatter() {
        byte[] hello = helloWithSni("x.example");
        byte[] more = Arrays.copyOf(hello, hello.length + 50);
        Arrays.fill(more, hello.length, more.length, (byte) 0xff);
        assertThat(parse(more).serverName()).isEqualTo("x.example");
    }

    @Test
    void theNameIsLowerCasedAndLosesItsTrailingDot() {
        assertThat(parse(helloWithSni("Shop.EXAMPLE.com.")).serverName()).isEqualTo("shop.example.com");
    }

    @Test
    void parsingDoesNotMoveTheBuffersIndexes() {
        ByteBuf buf = Unpooled.wrappedBuffer(helloWithSni("x.example"));
        int reader = buf.readerIndex();
        int writer = buf.writerIndex();
        ClientHelloSni.parse(buf);
        assertThat(buf.readerIndex()).isEqualTo(reader);
        assertThat(buf.writerIndex()).isEqualTo(writer);
    }

    @Test
    void httpIsNotTls() {
        Result r = parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(r.status()).isEqualTo(Status.INVALID);
        assertThat(r.reason()).contains("not a TLS handshake");
    }

    @Test
    void aWrongRecordVersionIsRefusedAfterTwoBytes() {
        assertThat(parse(new byte[] {22, 9}).status()).isEqualTo(Status.INVALID);
    }

    @Test
    void zeroAndOversizedRecordLengthsAreRefused() {
        assertThat(parse(new byte[] {22, 3, 1, 0, 0}).reason()).contains("record length 0");
        assertThat(parse(new byte[] {22, 3, 1, 0x40, 1}).reason()).contains("record length 16385");
    }

    @Test
    void aHandshakeOtherThanClientHelloIsRefused() {
        byte[] hs = handshake(body(null));
        hs[0] = 2; // ServerHello
        assertThat(parse(records(hs, 100)).reason()).contains("not a ClientHello");
    }

    @Test
    void anAlertBetweenFragmentsIsRefused() {
        byte[] split = records(handshake(body(extension(0, serverNames("a.b")))), 10);
        split[15] = 21; // second record's type: alert
        assertThat(parse(split).reason()).contains("unexpected TLS record type");
    }

    @Test
    void aHelloWithoutExtensionsIsNoSni() {
        assertThat(parse(records(handshake(body(null)), 1000)).status()).isEqualTo(Status.NO_SNI);
    }

    @Test
    void otherExtensionsAreSkipped() {
        byte[] ext = concat(extension(0x2b, new byte[] {2, 3, 4}), extension(0, serverNames("late.example")),
                extension(0x10, new byte[0]));
        assertThat(parse(records(handshake(body(ext)), 1000)).serverName()).isEqualTo("late.example");
    }

    @Test
    void twoHostNamesAreRefused() {
        assertThat(parse(helloWithSni("a.example", "b.example")).reason()).contains("more than one host name");
    }

    @Test
    void twoServerNameExtensionsAreRefused() {
        byte[] ext = concat(extension(0, serverNames("a.example")), extension(0, serverNames("b.example")));
        assertThat(parse(records(handshake(body(ext)), 1000)).reason()).contains("given twice");
    }

    @Test
    void namesThatAreNotHostNamesAreRefused() {
        for (String bad : new String[] {"a..b", ".a", "a b", "a/b", "x\u0000y", "é.example", "."}) {
            assertThat(parse(helloWithSni(bad)).status()).as(bad).isEqualTo(Status.INVALID);
        }
        assertThat(parse(helloWithSni("a".repeat(254))).status()).isEqualTo(Status.INVALID);
        assertThat(parse(helloWithSni("a".repeat(253))).status()).isEqualTo(Status.FOUND);
    }

    @Test
    void anExtensionLongerThanTheHelloIsRefused() {
        byte[] ext = extension(0, serverNames("a.example"));
        ext[3] = (byte) 0xff; // extension length beyond the block
        assertThat(parse(records(handshake(body(ext)), 1000)).status()).isEqualTo(Status.INVALID);
    }

    @Test
    void anExtensionsBlockOfTheWrongLengthIsRefused() {
        byte[] b = body(extension(0, serverNames("a.example")));
        b[b.length - extension(0, serverNames("a.example")).length - 1] += 1;
        assertThat(parse(records(handshake(b), 1000)).reason()).contains("extensions length");
    }

    @Test
    void badSessionIdAndCipherSuitesAreRefused() {
        byte[] b = body(null);
        b[34] = 33; // session id longer than 32
        assertThat(parse(records(handshake(b), 1000)).reason()).contains("session id");
        byte[] c = body(null);
        c[36] = 3; // odd cipher suites length
        assertThat(parse(records(handshake(c), 1000)).reason()).contains("cipher suites");
    }

    @Test
    void aHandshakeLengthBeyondTheDataNeedsMore() {
        byte[] hs = handshake(body(null));
        hs[1] = 0x7f; // claims ~8 MB
        assertThat(parse(records(hs, 1000)).status()).isEqualTo(Status.NEED_MORE);
    }

    @Test
    void emptyInputNeedsMore() {
        assertThat(parse(new byte[0]).status()).isEqualTo(Status.NEED_MORE);
    }

    @Test
    void fuzzedInputNeverThrows() throws Exception {
        byte[] real = ClientHellos.fromJdk("fuzz.example");
        byte[][] seeds = {real, ClientHellos.recut(real, 50), helloWithSni("a.example", "b.example")};
        Random random = new Random(42);
        for (int i = 0; i < 50_000; i++) {
            byte[] seed = seeds[i % seeds.length];
            byte[] input;
            switch (i % 4) {
                case 0 -> {
                    input = seed.clone();
                    for (int k = 0, flips = 1 + random.nextInt(8); k < flips; k++) {
                        input[random.nextInt(input.length)] = (byte) random.nextInt(256);
                    }
                }
                case 1 -> input = Arrays.copyOf(seed, random.nextInt(seed.length + 20));
                case 2 -> {
                    input = new byte[random.nextInt(600)];
                    random.nextBytes(input);
                    if (input.length > 2) {
                        input[0] = 22;
                        input[1] = 3;
                    }
                }
                default -> {
                    input = seed.clone();
                    int at = random.nextInt(input.length - 1);
                    input[at] = (byte) 0xff;
                    input[at + 1] = (byte) 0xff; // a huge length somewhere
                }
            }
            Result r = parse(input);
            assertThat(r).isNotNull();
            assertThat(r.status()).isNotNull();
            if (r.status() == Status.FOUND) {
                assertThat(r.serverName()).matches("[a-z0-9_.-]{1,253}");
            }
        }
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
