import 'reflect-metadata';
import { runService } from '@lienthong/common';
import { createIntegrationBusApp } from './integration-bus.app';

void runService(() => createIntegrationBusApp());
