import { Injectable } from '@nestjs/common';
import {
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
} from '@lienthong/contracts';
import { type ReceiveAnswer } from './exchange.types';
import { type EdxmlStatus } from '../edxml';
import { ExchangesRepository } from './exchanges.repository';
import { type RoutedDocument } from './routed-document';
import { ExchangeOperator } from './exchange-operator.service';
import { ExchangeRouting, type PackageFile } from './exchange-routing.service';
import { PackageIntake } from './package-intake.service';
import { StatusRelay } from './status-relay.service';

export { CONSUMERS, isUuid, type Origin, type ReceiveAnswer } from './exchange.types';

/**
 * The bus's exchange work, split by job: ExchangeRouting (documents → recipients), PackageIntake (packages
 * from outside), StatusRelay (answers back to senders), ExchangeOperator (list/get/retry). This class only
 * delegates, for callers outside this folder (national axis, inbound API, federation) written against it.
 */
@Injectable()
export class ExchangesService {
  constructor(
    readonly repo: ExchangesRepository,
    readonly routing: ExchangeRouting,
    readonly intake: PackageIntake,
    readonly statuses: StatusRelay,
    readonly operator: ExchangeOperator,
  ) {}

  onSendRequested(ev: DocumentSendRequestedEvent, messageId: string): Promise<void> {
    return this.routing.onSendRequested(ev, messageId);
  }

  route(...args: Parameters<ExchangeRouting['route']>): Promise<ReceiveAnswer> {
    return this.routing.route(...args);
  }

  deliveryEvent(d: RoutedDocument, to: { to: string; exchangeId: string }[]): DocumentDeliveryEvent {
    return this.routing.deliveryEvent(d, to);
  }

  signedPackage(d: RoutedDocument, to: string[]): Promise<string> {
    return this.routing.signedPackage(d, to);
  }

  signedPackageFile(d: RoutedDocument, to: string[]): Promise<PackageFile> {
    return this.routing.signedPackageFile(d, to);
  }

  emitState(...args: Parameters<ExchangeRouting['emitState']>): Promise<void> {
    return this.routing.emitState(...args);
  }

  receivePackage(...args: Parameters<PackageIntake['receivePackage']>) {
    return this.intake.receivePackage(...args);
  }

  receivePackages(...args: Parameters<PackageIntake['receivePackages']>) {
    return this.intake.receivePackages(...args);
  }

  auditRejected(...args: Parameters<PackageIntake['auditRejected']>): Promise<void> {
    return this.intake.auditRejected(...args);
  }

  onReceiverStatuses(...args: Parameters<StatusRelay['onReceiverStatuses']>): Promise<void> {
    return this.statuses.onReceiverStatuses(...args);
  }

  onReceiverStatus(...args: Parameters<StatusRelay['onReceiverStatus']>): Promise<void> {
    return this.statuses.onReceiverStatus(...args);
  }

  applyRemoteStatus(...args: Parameters<StatusRelay['applyRemoteStatus']>): Promise<boolean> {
    return this.statuses.applyRemoteStatus(...args);
  }

  applyRemoteStatuses(
    ...args: Parameters<StatusRelay['applyRemoteStatuses']>
  ): ReturnType<StatusRelay['applyRemoteStatuses']> {
    return this.statuses.applyRemoteStatuses(...args);
  }

  statusEvent(s: EdxmlStatus, statusId: string): DocumentStatusEvent {
    return this.statuses.statusEvent(s, statusId);
  }

  list(...args: Parameters<ExchangeOperator['list']>) {
    return this.operator.list(...args);
  }

  get(id: string) {
    return this.operator.get(id);
  }

  retry(...args: Parameters<ExchangeOperator['retry']>) {
    return this.operator.retry(...args);
  }
}
