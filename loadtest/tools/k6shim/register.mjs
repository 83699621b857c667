// node --import register.mjs: installs hooks.mjs (k6 module stand-ins).
import { register } from 'node:module';
register('./hooks.mjs', import.meta.url);
