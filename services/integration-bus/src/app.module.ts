import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { IntegrationBusConfig } from './config/integration-bus.config';
import { OrganizationDirectory } from './directory/organization-directory';
import { EdxmlController } from './edxml-api/edxml.controller';
import { EdxmlMemoryBudget } from './edxml-api/edxml-memory-budget';
import { EdxmlSenderPolicy } from './edxml-api/edxml-sender.policy';
import { EdxmlNodeService } from './edxml/edxml-node.service';
import { ExchangesController } from './exchanges/exchanges.controller';
import { ExchangesHandler } from './exchanges/exchanges.handler';
import { ExchangesRepository } from './exchanges/exchanges.repository';
import { ExchangeOperator } from './exchanges/exchange-operator.service';
import { ExchangeRouting } from './exchanges/exchange-routing.service';
import { ExchangesService } from './exchanges/exchanges.service';
import { PackageIntake } from './exchanges/package-intake.service';
import { StatusRelay } from './exchanges/status-relay.service';
import { BusObjectStore } from './exchanges/object-store';
import { FederationHandler } from './federation/federation.handler';
import { FederationLink } from './federation/federation-link';
import { FederationSourceWatch } from './federation/source-watch';
import { ExchangeMetrics, ExchangeMetricsRepository } from './metrics/exchange.metrics';
import { migrations } from './migrations';
import { AxisExchangesRepository } from './national-axis/axis-exchanges.repository';
import { AxisWakeup } from './national-axis/axis-wakeup';
import { NationalAxisService } from './national-axis/national-axis.service';
import { LinksRepository } from './links/links.repository';
import { LinksService } from './links/links.service';

@Module({})
export class AppModule {
  static register(config: IntegrationBusConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'integration-bus',
          config,
          configClass: IntegrationBusConfig,
          entities: [],
          migrations,
          streams: [
            Streams.bus(),
            Streams.audit(),
            Streams.documents(),
            Streams.identity(),
            Streams.witness(),
          ],
        }),
      ],
      controllers: [EdxmlController, ExchangesController],
      providers: [
        EdxmlNodeService,
        EdxmlSenderPolicy,
        EdxmlMemoryBudget,
        OrganizationDirectory,
        BusObjectStore,
        ExchangesRepository,
        ExchangeRouting,
        PackageIntake,
        StatusRelay,
        ExchangeOperator,
        ExchangesService,
        AxisWakeup,
        AxisExchangesRepository,
        NationalAxisService,
        ExchangesHandler,
        FederationLink,
        FederationSourceWatch,
        FederationHandler,
        ExchangeMetricsRepository,
        ExchangeMetrics,
        LinksRepository,
        LinksService,
      ],
    };
  }
}
