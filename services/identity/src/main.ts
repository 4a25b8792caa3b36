import 'reflect-metadata';
import { runService } from '@lienthong/common';
import { createIdentityApp } from './identity.app';

void runService(() => createIdentityApp());
