import 'reflect-metadata';
import { runService } from '@lienthong/common';
import { createAuditApp } from './audit.app';

void runService(() => createAuditApp());
