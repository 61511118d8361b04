"""One run through its phases: options, the test spec, the phase driver."""
