#!/bin/bash
# The compose file's Kafka: one KRaft node secured as infra/kafka/server.properties.in secures
# the local one. Clients: SASL/SCRAM-SHA-512 over TLS on kafka:9092; the controller: mutual TLS
# on kafka:9093 (SCRAM credentials live in the metadata log the controller serves). Nothing is
# allowed without an ACL; the super users are the admin, which the kafka-setup job uses to
# create topics, users and ACLs, and the broker's own certificate. The admin's credential is
# written into the metadata log when the storage is first formatted.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}" "${CLUSTER_ID:?set CLUSTER_ID}"
umask 077  # the files below hold the admin's password
props=/tmp/server.properties
jaas='org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="'"${KAFKA_ADMIN_PASSWORD}"'";'
cat > "$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=CLIENT://:9092,CONTROLLER://:9093
advertised.listeners=CLIENT://kafka:9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SSL
ssl.keystore.type=PEM
ssl.keystore.location=/run/secrets/kafka-broker
ssl.truststore.type=PEM
ssl.truststore.location=/run/secrets/kafka-ca
ssl.enabled.protocols=TLSv1.3
ssl.protocol=TLSv1.3
listener.name.controller.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=${jaas}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:CN=tsunagu-broker
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
unclean.leader.election.enable=false
EOF
# The healthcheck's client: the admin, over the same TLS and SASL as everyone.
cat > /tmp/admin.properties <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=${jaas}
ssl.truststore.type=PEM
ssl.truststore.location=/run/secrets/kafka-ca
EOF
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$CLUSTER_ID" -c "$props" \
  --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
exec /opt/kafka/bin/kafka-server-start.sh "$props"
