from flink_jepsen.api.cli import main

raise SystemExit(main())
