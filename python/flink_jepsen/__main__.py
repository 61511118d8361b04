from flink_jepsen.cli import main

raise SystemExit(main())
