package org.flinkjepsen.jobs.common;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code --name value} / {@code --name=value} program arguments, checked against a fixed set of
 * names. Every error names the argument as it was given, because the harness only gets to see
 * the exception text of a failed submission.
 *
 * <p>A name may have aliases (other spellings of the same setting, e.g. the original
 * flink-jepsen jobs' {@code --bootstrap.servers} for {@code --bootstrap-servers}); values are
 * looked up by the canonical name, and a setting given twice, under any spellings, is an error.
 *
 * <p>Written here rather than using ParameterTool, which changed packages between 1.20 and 2.x.
 * Used by the Kafka jobs (exactly-once, state-machine). allround keeps its own parsing, whose
 * messages and leniency (repeats allowed, no range checks) differ.
 */
public final class Args {

    private final Map<String, String> values;
    /** Canonical name -> the name it was given under. */
    private final Map<String, String> spelled;

    private Args(Map<String, String> values, Map<String, String> spelled) {
        this.values = values;
        this.spelled = spelled;
    }

    public static Args parse(String[] args, String... knownNames) {
        return parse(args, Collections.<String, String>emptyMap(), knownNames);
    }

    /**
     * @param aliases alias -> canonical name; each canonical name must be one of {@code
     *     knownNames}
     */
    public static Args parse(String[] args, Map<String, String> aliases, String... knownNames) {
        TreeSet<String> known = new TreeSet<>(Arrays.asList(knownNames));
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
                TreeSet<String> all = new TreeSet<>(known);
                all.addAll(aliases.keySet());
                throw new IllegalArgumentException(
                        "unknown argument --" + name + "; known: " + all);
            }
            String earlier = spelled.put(canonical, name);
            if (values.put(canonical, value) != null) {
                throw new IllegalArgumentException(
                        "--"
                                + name
                                + " given more than once"
                                + (earlier.equals(name) ? "" : " (also as --" + earlier + ")"));
            }
        }
        return new Args(values, spelled);
    }

    /** "--name" as the argument was given (or the canonical name if it was not). */
    private String label(String name) {
        return "--" + spelled.getOrDefault(name, name);
    }

    public boolean has(String name) {
        return values.containsKey(name);
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
        double parsed;
        try {
            parsed = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(label(name) + " must be a number, got '" + v + "'");
        }
        if (!(parsed >= min) || Double.isInfinite(parsed)) {
            throw new IllegalArgumentException(
                    label(name) + " must be a finite number >= " + min + ", got " + v);
        }
        return parsed;
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
