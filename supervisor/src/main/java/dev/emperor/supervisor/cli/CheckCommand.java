package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.IniParser;
import dev.emperor.supervisor.config.UntrustedFile;
import dev.emperor.supervisor.control.CheckText;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** `emperor check FILE...`: validates emperor.ini and vassal files without running anything. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Validate emperor.ini and vassal files (NAME.ini, NAME.json) without running anything."
                + " Exit status 1 if any file is invalid.")
public final class CheckCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "files to check")
    List<Path> files;

    @Override
    public Integer call() throws Exception {
        EmperorConfig emperor;
        try {
            emperor = config.load();
        } catch (ConfigError e) {
            System.err.println(e.getMessage());
            return 1;
        }
        int bad = 0;
        for (Path file : files) {
            try {
                if (isEmperorIni(file)) {
                    EmperorConfig.load(file);
                    System.out.println(file + ": ok");
                } else {
                    // the same verdict the daemon gives the native client (CheckText)
                    CheckText.Verdict verdict = CheckText.vassal(file, null, HostVassalEnvironment.of(emperor));
                    System.out.println(verdict.line());
                    if (!verdict.valid()) bad++;
                }
            } catch (ConfigError e) {
                System.out.println(e.getMessage());
                bad++;
            }
        }
        return bad == 0 ? 0 : 1;
    }

    /** emperor.ini is recognised by its [emperor] section, whatever the file is called. */
    private static boolean isEmperorIni(Path file) {
        if (!file.toString().endsWith(".ini")) return false;
        try {
            // read like the daemon reads: a FIFO or a link to a device must not hang or flood `check`
            byte[] content = UntrustedFile.read(file.toRealPath(), IniParser.MAX_FILE_BYTES);
            return new String(content, java.nio.charset.StandardCharsets.UTF_8).lines()
                    .anyMatch(l -> l.strip().equals("[emperor]"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
