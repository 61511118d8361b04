"""One module per system the tests deploy (ZooKeeper, Flink, ...). Each declares, ducktape
style, how to install, start, wait for, stop and clean it, how to find its processes and where
its logs are."""
