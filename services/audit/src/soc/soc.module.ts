import { Module } from '@nestjs/common';
import { SocForwarder } from './soc.forwarder';

/** Feed of security-relevant audit events to the SOC (RFC 5424 syslog over TCP/TLS); off without SOC_SYSLOG_URL. */
@Module({ providers: [SocForwarder], exports: [SocForwarder] })
export class SocModule {}
