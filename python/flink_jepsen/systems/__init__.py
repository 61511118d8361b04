"""The systems a test deploys (ZooKeeper, HDFS and YARN, Kafka, Flink), composed from :dbs."""
