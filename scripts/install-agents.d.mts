export declare const AGENTS: Record<string, { spec: string; bin: string }>;
export declare function agentsDir(env?: NodeJS.ProcessEnv): string;
export declare function agentBin(name: string, env?: NodeJS.ProcessEnv): string;
export declare function installAgents(names?: string[]): Promise<void>;
