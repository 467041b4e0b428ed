// Injection tokens for the shared parts that are interfaces, not classes (classes are their own token).
export const API_CONFIG = Symbol('ApiConfig');
export const DB = Symbol('Db');
export const JOB_BACKEND = Symbol('JobBackend');
