package org.flinkjepsen.jobs;

import java.util.ArrayList;
import java.util.List;

/**
 * The state machine every simulated address walks: a session that connects, logs in, makes
 * requests and disconnects. Small on purpose: every state has valid and invalid events, and
 * sessions end often, so per-address state is created and cleared all the time.
 *
 * <pre>
 *   NONE      --CONNECT-->    CONNECTED
 *   CONNECTED --LOGIN-->      LOGGED_IN
 *   CONNECTED --DISCONNECT--> NONE
 *   LOGGED_IN --REQUEST-->    WAITING
 *   LOGGED_IN --LOGOUT-->     CONNECTED
 *   WAITING   --RESPONSE-->   LOGGED_IN
 *   WAITING   --DISCONNECT--> NONE       (the connection dropped mid-request)
 * </pre>
 *
 * NONE (no session) is kept as absent state.
 */
final class Sessions {

    enum State {
        NONE,
        CONNECTED,
        LOGGED_IN,
        WAITING
    }

    enum Event {
        CONNECT,
        LOGIN,
        REQUEST,
        RESPONSE,
        LOGOUT,
        DISCONNECT
    }

    private Sessions() {}

    /** The state after {@code event} in {@code from}, or null if the transition is invalid. */
    static State next(State from, Event event) {
        switch (from) {
            case NONE:
                return event == Event.CONNECT ? State.CONNECTED : null;
            case CONNECTED:
                if (event == Event.LOGIN) {
                    return State.LOGGED_IN;
                }
                return event == Event.DISCONNECT ? State.NONE : null;
            case LOGGED_IN:
                if (event == Event.REQUEST) {
                    return State.WAITING;
                }
                return event == Event.LOGOUT ? State.CONNECTED : null;
            case WAITING:
                if (event == Event.RESPONSE) {
                    return State.LOGGED_IN;
                }
                return event == Event.DISCONNECT ? State.NONE : null;
            default:
                throw new IllegalStateException("unknown state " + from);
        }
    }

    /** The events valid (or, with {@code valid} false, invalid) in {@code from}; never empty. */
    static List<Event> events(State from, boolean valid) {
        List<Event> result = new ArrayList<>();
        for (Event e : Event.values()) {
            if ((next(from, e) != null) == valid) {
                result.add(e);
            }
        }
        return result;
    }
}
