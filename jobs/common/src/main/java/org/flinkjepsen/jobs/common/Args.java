package org.flinkjepsen.jobs.common;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code --name value} / {@code --name=value} program arguments, checked against a fixed set of
 * names. Every error names the argument it is about, because the harness only gets to see the
 * exception text of a failed submission.
 *
 * <p>Written here rather than using ParameterTool, which changed packages between 1.20 and 2.x.
 * Used by the Kafka jobs (exactly-once, state-machine). allround keeps its own parsing, whose
 * messages and leniency (repeats allowed, no range checks) differ.
 */
public final class Args {

    private final Map<String, String> values;

    private Args(Map<String, String> values) {
        this.values = values;
    }

    public static Args parse(String[] args, String... knownNames) {
        TreeSet<String> known = new TreeSet<>(Arrays.asList(knownNames));
        Map<String, String> values = new HashMap<>();
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
            if (!known.contains(name)) {
                throw new IllegalArgumentException(
                        "unknown argument --" + name + "; known: " + known);
            }
            if (values.put(name, value) != null) {
                throw new IllegalArgumentException("--" + name + " given more than once");
            }
        }
        return new Args(values);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public String required(String name) {
        String v = values.get(name);
        if (v == null || v.trim().isEmpty()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v.trim();
    }

    public String string(String name, String dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        if (v.trim().isEmpty()) {
            throw new IllegalArgumentException("--" + name + " must not be empty");
        }
        return v.trim();
    }

    public int integer(String name, int dflt, int min) {
        long v = longValue(name, dflt, min);
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "--" + name + " must be at most " + Integer.MAX_VALUE + ", got " + v);
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
                    "--" + name + " must be an integer, got '" + v + "'");
        }
        if (parsed < min) {
            throw new IllegalArgumentException(
                    "--" + name + " must be at least " + min + ", got " + parsed);
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
            throw new IllegalArgumentException("--" + name + " must be a number, got '" + v + "'");
        }
        if (!(parsed >= min) || Double.isInfinite(parsed)) {
            throw new IllegalArgumentException(
                    "--" + name + " must be a finite number >= " + min + ", got " + v);
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
                    "--" + name + " must be one of " + allowed + ", got '" + v + "'");
        }
        return normalized;
    }
}
