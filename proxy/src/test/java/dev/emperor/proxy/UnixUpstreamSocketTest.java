package dev.emperor.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixUpstreamSocketTest {

    @TempDir
    Path dir;

    private ServerSocketChannel listen(Path path) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        return server;
    }

    @Test
    void aRealSocketIsConnectedThroughItsDescriptor() throws Exception {
        Path sock = dir.resolve("app.sock");
        try (ServerSocketChannel server = listen(sock);
                UnixUpstreamSocket opened = UnixUpstreamSocket.open(sock)) {
            assertThat(opened.address().path()).startsWith("/proc/self/fd/");
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(opened.address().path()));
                    SocketChannel accepted = server.accept()) {
                client.write(ByteBuffer.wrap(new byte[] {42}));
                ByteBuffer got = ByteBuffer.allocate(1);
                accepted.read(got);
                assertThat(got.get(0)).isEqualTo((byte) 42);
            }
        }
    }

    @Test
    void aSymlinkToAnotherSocketIsRefused() throws Exception {
        Path victim = dir.resolve("control.sock");
        Path link = dir.resolve("app.sock");
        try (ServerSocketChannel server = listen(victim)) {
            Files.createSymbolicLink(link, victim);
            assertThatThrownBy(() -> UnixUpstreamSocket.open(link))
                    .isInstanceOf(IOException.class).hasMessageContaining("symbolic link");
        }
    }

    @Test
    void aFileThatIsNotASocketIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("app.sock"), "x");
        assertThatThrownBy(() -> UnixUpstreamSocket.open(file))
                .isInstanceOf(IOException.class).hasMessageContaining("not a unix socket");
        assertThatThrownBy(() -> UnixUpstreamSocket.open(dir.resolve("missing.sock")))
                .isInstanceOf(IOException.class).hasMessageContaining("does not exist");
    }

    @Test
    void theSocketReplacedAfterOpeningIsNotTheOneConnected() throws Exception {
        // the held descriptor names the inode opened, so a later swap of the path changes nothing
        Path sock = dir.resolve("app.sock");
        try (ServerSocketChannel server = listen(sock);
                UnixUpstreamSocket opened = UnixUpstreamSocket.open(sock)) {
            Files.delete(sock);
            Files.createSymbolicLink(sock, dir.resolve("elsewhere.sock"));
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(opened.address().path()));
                    SocketChannel accepted = server.accept()) {
                assertThat(accepted).isNotNull();
            }
        }
    }
}
