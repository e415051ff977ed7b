package dev.emperor.supervisor.config;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Vassal files: which files in the vassal directory are tenants, and reading one into a
 * checked {@link VassalConfig}.
 *
 * <p>A tenant is {@code NAME.ini} or {@code NAME.json}, NAME matching {@link #TENANT_NAME}.
 * Control panels write files atomically (temporary file, then rename), and editors leave
 * swap and backup files behind, so those names are ignored without complaint: dotfiles,
 * names ending in {@code ~}, {@code .swp}, {@code .swx}, {@code .tmp}, {@code .part},
 * {@code .new}, {@code #...#}, and any other extension. A {@code .ini} or {@code .json} file
 * whose NAME breaks the rule is different: someone meant it as a tenant, so
 * {@link #rejectReason} says why it is refused.
 */
public final class VassalFiles {

    /** Tenant names: they name cgroups, directories, mount points and database rows. */
    public static final Pattern TENANT_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,31}");

    private static final List<String> TEMPORARY_SUFFIXES = List.of("~", ".swp", ".swx", ".tmp", ".part", ".new");
    private static final List<String> VASSAL_SUFFIXES = List.of(".ini", ".json");

    private VassalFiles() {}

    /** The tenant a file defines, or empty if it is not a (well-named) vassal file. */
    public static Optional<String> tenantName(Path file) {
        return baseName(file).filter(VassalFiles::isTenantName);
    }

    /**
     * Why a file that looks like a vassal file is refused ("bad tenant name ..."), or empty if
     * it is a good vassal file or a file to ignore silently (temporary, other extension).
     */
    public static Optional<String> rejectReason(Path file) {
        return baseName(file).filter(name -> !isTenantName(name)).map(VassalFiles::badName);
    }

    public static boolean isTenantName(String name) {
        return TENANT_NAME.matcher(name).matches();
    }

    /**
     * Reads and checks a vassal file. Every problem is a {@link ConfigError} naming file, line
     * and key; nothing else is thrown for any file content.
     */
    public static VassalConfig load(Path file, VassalEnvironment env) throws ConfigError {
        checkName(file);
        return parse(file, ConfigFiles.read(file), env);
    }

    /** As {@link #load}, with the file's bytes already read. */
    public static VassalConfig parse(Path file, byte[] content, VassalEnvironment env) throws ConfigError {
        String name = checkName(file);
        String hash = sha256(content);
        if (file.getFileName().toString().endsWith(".json")) {
            JsonVassalReader.Result json = JsonVassalReader.read(file, content);
            return VassalValidator.validate(file, name, json.objectLine(), json.entries(), env, hash);
        }
        IniDocument ini = IniParser.parse(file, content);
        for (String section : ini.sectionNames()) {
            if (!section.equals("vassal")) {
                throw new ConfigError(file, ini.sectionLine(section), null, "unknown section [" + section
                        + "]; a vassal file has only [vassal]"
                        + DidYouMean.hint(section, List.of("vassal")));
            }
        }
        if (!ini.hasSection("vassal")) {
            throw new ConfigError(file, "no [vassal] section");
        }
        return VassalValidator.validate(file, name, ini.sectionLine("vassal"), ini.entries("vassal"), env, hash);
    }

    /** The error for one tenant defined by two files (NAME.ini and NAME.json). */
    public static ConfigError duplicateError(Path a, Path b) {
        Path first = a.compareTo(b) <= 0 ? a : b;
        Path second = first == a ? b : a;
        String name = baseName(first).orElse(first.getFileName().toString());
        return new ConfigError(second, "tenant '" + name + "' is defined twice, by " + first.getFileName()
                + " and " + second.getFileName() + "; remove one of them");
    }

    private static String checkName(Path file) throws ConfigError {
        Optional<String> base = baseName(file);
        if (base.isEmpty()) {
            throw new ConfigError(file, "not a vassal file: expected NAME.ini or NAME.json");
        }
        if (!isTenantName(base.get())) {
            throw new ConfigError(file, badName(base.get()));
        }
        return base.get();
    }

    /** NAME of NAME.ini / NAME.json, unless the file is one to ignore. */
    private static Optional<String> baseName(Path file) {
        Path fileName = file.getFileName();
        if (fileName == null) {
            return Optional.empty();
        }
        String name = fileName.toString();
        if (name.startsWith(".") || (name.startsWith("#") && name.endsWith("#"))
                || TEMPORARY_SUFFIXES.stream().anyMatch(name::endsWith)) {
            return Optional.empty();
        }
        return VASSAL_SUFFIXES.stream().filter(name::endsWith).findFirst()
                .map(suffix -> name.substring(0, name.length() - suffix.length()))
                .filter(base -> !base.isEmpty());
    }

    private static String badName(String name) {
        return "bad tenant name " + ConfigError.quote(name)
                + ": 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit";
    }

    private static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
