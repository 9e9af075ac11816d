/**
 * Every fix spamgate carries for kafkajs 2.2.4, installed before kafkajs loads: import this first
 * wherever kafkajs is imported (kafkajs-module.ts says how; ARCHITECTURE.md, "Known constraints", why).
 */
import './kafkajs-encoder.ts';
import './kafkajs-record-batch.ts';
import './kafkajs-murmur2.ts';
import './kafkajs-read-committed.ts';
import './kafkajs-group-messages.ts';
import './kafkajs-record-encoder.ts';
import './kafkajs-record-decoder.ts';
import './kafkajs-batch.ts';
