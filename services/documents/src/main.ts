import 'reflect-metadata';
import { runService } from '@lienthong/common';
import { createDocumentsApp } from './documents.app';

void runService(() => createDocumentsApp());
