package dev.emperor.supervisor.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a command line into argv the way a POSIX shell splits words, and nothing more:
 * no variable expansion, no globbing, no comments, no redirections. A command that needs
 * those says so: {@code exec = sh -c 'echo $HOME > out'}.
 *
 * <ul>
 *   <li>spaces, tabs and newlines separate words;
 *   <li>{@code '...'} keeps everything literally up to the next single quote;
 *   <li>{@code "..."} keeps everything literally except that a backslash before
 *       {@code "}, {@code \}, {@code $} or {@code `} yields that character;
 *   <li>outside quotes a backslash yields the next character literally;
 *   <li>quoted parts join the text next to them ({@code a'b c'd} is one word), and
 *       {@code ''} is an empty word.
 * </ul>
 */
public final class ShellWords {

    private ShellWords() {}

    /**
     * @throws IllegalArgumentException on an unterminated quote or a trailing backslash,
     *     naming the column (1-based) where the problem starts
     */
    public static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false; // distinguishes '' (an empty word) from no word at all
        int i = 0;
        while (i < line.length()) {
            char c = line.charAt(i);
            switch (c) {
                case ' ', '\t', '\n', '\r' -> {
                    if (inWord) {
                        words.add(word.toString());
                        word.setLength(0);
                        inWord = false;
                    }
                    i++;
                }
                case '\'' -> {
                    int close = line.indexOf('\'', i + 1);
                    if (close < 0) {
                        throw new IllegalArgumentException(
                                "unterminated single quote at column " + (i + 1));
                    }
                    word.append(line, i + 1, close);
                    inWord = true;
                    i = close + 1;
                }
                case '"' -> {
                    int open = i;
                    i++;
                    while (true) {
                        if (i >= line.length()) {
                            throw new IllegalArgumentException(
                                    "unterminated double quote at column " + (open + 1));
                        }
                        char d = line.charAt(i);
                        if (d == '"') {
                            i++;
                            break;
                        }
                        if (d == '\\' && i + 1 < line.length() && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) {
                            word.append(line.charAt(i + 1));
                            i += 2;
                        } else {
                            word.append(d);
                            i++;
                        }
                    }
                    inWord = true;
                }
                case '\\' -> {
                    if (i + 1 >= line.length()) {
                        throw new IllegalArgumentException("trailing backslash at column " + (i + 1));
                    }
                    word.append(line.charAt(i + 1));
                    inWord = true;
                    i += 2;
                }
                default -> {
                    word.append(c);
                    inWord = true;
                    i++;
                }
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        return List.copyOf(words);
    }
}
