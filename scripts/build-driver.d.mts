export declare const DRIVER_LIBRARY: string;
export declare function buildDriver(options?: { force?: boolean; quiet?: boolean }): string;
