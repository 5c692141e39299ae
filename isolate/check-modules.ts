// What `warden check` asks of a plugin's code without running any of it: every module the entry
// imports is found inside the plugin, stripped of its types if it is TypeScript, compiled and
// linked in a throw-away isolate; nothing is evaluated, so no plugin code runs and no capability
// exists. A failure is the loader's own PLUGIN_ERROR, naming the file, line or import.
import ivm from "./ivm.ts";
import { loadModuleGraph } from "./module-loader.ts";

/** Memory of the throw-away isolate, MB: compiling needs far less than running. */
const CHECK_MEMORY_MB = 128;

/** The plugin's modules as the loader finds them (relative paths, entry first); throws PLUGIN_ERROR if one cannot be loaded. */
export function checkModules(pluginDir: string, main: string): string[] {
  const isolate = new ivm.Isolate({ memoryLimit: CHECK_MEMORY_MB });
  try {
    const context = isolate.createContextSync();
    const files: string[] = [];
    loadModuleGraph({ isolate, context, pluginDir, main, onModule: (file) => files.push(file) });
    return files;
  } finally {
    isolate.dispose();
  }
}
