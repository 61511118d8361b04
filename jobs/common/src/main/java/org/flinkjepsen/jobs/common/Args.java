package org.flinkjepsen.jobs.common;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code --name value} / {@code --name=value} program arguments, checked against a fixed set of
 * names. Every error names the argument as it was given, because the harness only gets to see
 * the exception text of a failed submission.
 *
 * <p>A name may have aliases (other spellings of the same setting, e.g. the original
 * flink-jepsen jobs' {@code --bootstrap.servers} for {@code --bootstrap-servers}); values are
 * looked up by the canonical name.
 *
 * <p>Two rules for a setting given more than once: {@link #parse(String[], Map, String...)} (the
 * Kafka jobs) rejects any repeat, under any spellings; {@link #parseLastWins} (allround, which
 * always allowed repeats) lets the last value win and only rejects one setting given under two
 * spellings with different values.
 *
 * <p>Written here rather than using ParameterTool, which changed packages between 1.20 and 2.x.
 */
public final class Args {

    private final Map<String, String> values;
    /** Canonical name -> the name it was (last) given under. */
    private final Map<String, String> spelled;

    private Args(Map<String, String> values, Map<String, String> spelled) {
        this.values = values;
        this.spelled = spelled;
    }

    public static Args parse(String[] args, String... knownNames) {
        return parse(args, Collections.<String, String>emptyMap(), knownNames);
    }

    /**
     * A setting given more than once, under any spellings, is an error ("--x given more than
     * once (also as --y)"); an unknown name's error lists the known names and aliases sorted.
     *
     * @param aliases alias -> canonical name; each canonical name must be one of {@code
     *     knownNames}
     */
    public static Args parse(String[] args, Map<String, String> aliases, String... knownNames) {
        TreeSet<String> listing = new TreeSet<>(Arrays.asList(knownNames));
        listing.addAll(aliases.keySet());
        return parse(args, aliases, Arrays.asList(knownNames), false, listing);
    }

    /**
     * The last value of a setting wins; giving it under two spellings with different values is
     * an error ("--y 1 contradicts --x 2 (the same setting)"), with the same value it is not. An
     * unknown name's error lists the known names in the order given, then the aliases in {@code
     * aliases}' order.
     *
     * @param aliases alias -> canonical name; each canonical name must be one of {@code
     *     knownNames}
     */
    public static Args parseLastWins(
            String[] args, Map<String, String> aliases, List<String> knownNames) {
        List<String> listing = new ArrayList<>(knownNames);
        listing.addAll(aliases.keySet());
        return parse(args, aliases, knownNames, true, listing);
    }

    private static Args parse(
            String[] args,
            Map<String, String> aliases,
            Collection<String> knownNames,
            boolean lastWins,
            Collection<String> listing) {
        Set<String> known = new HashSet<>(knownNames);
        for (Map.Entry<String, String> alias : aliases.entrySet()) {
            if (!known.contains(alias.getValue()) || known.contains(alias.getKey())) {
                throw new IllegalStateException("bad alias " + alias);
            }
        }
        Map<String, String> values = new HashMap<>();
        Map<String, String> spelled = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("unexpected argument: " + a);
            }
            String name = a.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException("missing value for --" + name);
            }
            String canonical = aliases.getOrDefault(name, name);
            if (!known.contains(canonical)) {
                throw new IllegalArgumentException(
                        "unknown argument --" + name + "; known: " + listing);
            }
            String earlier = spelled.put(canonical, name);
            String before = values.put(canonical, value);
            if (before == null) {
                continue;
            }
            if (!lastWins) {
                throw new IllegalArgumentException(
                        "--"
                                + name
                                + " given more than once"
                                + (earlier.equals(name) ? "" : " (also as --" + earlier + ")"));
            }
            if (!earlier.equals(name) && !before.trim().equals(value.trim())) {
                throw new IllegalArgumentException(
                        "--"
                                + name
                                + " "
                                + value
                                + " contradicts --"
                                + earlier
                                + " "
                                + before
                                + " (the same setting)");
            }
        }
        return new Args(values, spelled);
    }

    /**
     * "--name" as the argument was given (or the canonical name if it was not), for a caller's
     * own messages.
     */
    public String label(String name) {
        return "--" + spelled.getOrDefault(name, name);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    /** The value exactly as given (not trimmed, possibly empty); {@code dflt} if not given. */
    public String value(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    public String required(String name) {
        String v = values.get(name);
        if (v == null || v.trim().isEmpty()) {
            throw new IllegalArgumentException(label(name) + " is required");
        }
        return v.trim();
    }

    public String string(String name, String dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        if (v.trim().isEmpty()) {
            throw new IllegalArgumentException(label(name) + " must not be empty");
        }
        return v.trim();
    }

    public int integer(String name, int dflt, int min) {
        long v = longValue(name, dflt, min);
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    label(name) + " must be at most " + Integer.MAX_VALUE + ", got " + v);
        }
        return (int) v;
    }

    public long longValue(String name, long dflt, long min) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        long parsed;
        try {
            parsed = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    label(name) + " must be an integer, got '" + v + "'");
        }
        if (parsed < min) {
            throw new IllegalArgumentException(
                    label(name) + " must be at least " + min + ", got " + parsed);
        }
        return parsed;
    }

    public double decimal(String name, double dflt, double min) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        double parsed = parseNumber(name, v);
        if (!(parsed >= min) || Double.isInfinite(parsed)) {
            throw new IllegalArgumentException(
                    label(name) + " must be a finite number >= " + min + ", got " + v);
        }
        return parsed;
    }

    /** A number without any range check (NaN and infinities pass). */
    public double number(String name, double dflt) {
        String v = values.get(name);
        return v == null ? dflt : parseNumber(name, v);
    }

    private double parseNumber(String name, String v) {
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(label(name) + " must be a number, got '" + v + "'");
        }
    }

    /** true or false (any case); null if not given. */
    public Boolean bool(String name) {
        String v = values.get(name);
        if (v == null) {
            return null;
        }
        switch (v.trim().toLowerCase()) {
            case "true":
                return Boolean.TRUE;
            case "false":
                return Boolean.FALSE;
            default:
                throw new IllegalArgumentException(
                        label(name) + " must be true or false, got '" + v + "'");
        }
    }

    /** One of {@code choices}, compared case-insensitively with '_' and '-' the same. */
    public String choice(String name, String dflt, String... choices) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        String normalized = v.trim().toLowerCase().replace('_', '-');
        List<String> allowed = Arrays.asList(choices);
        if (!allowed.contains(normalized)) {
            throw new IllegalArgumentException(
                    label(name) + " must be one of " + allowed + ", got '" + v + "'");
        }
        return normalized;
    }
}
