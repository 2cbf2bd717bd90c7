// The job-compile interface Flamenco Manager v3 gives a job compiler script, recorded for Node.js.
//
// Flamenco runs job types in goja (a JavaScript VM in Go). Its globals, ported here with the same
// behaviour (flamenco internal/manager/job_compilers: author.go, js_globals.go, path.go,
// job_compilers.go):
//   author.Task(name, taskType) -> task with addCommand(cmd), addDependency(task); priority 50
//   author.Command(cmdType, parameters) -> {type, parameters}
//   job.addTask(task); job.settings / job.metadata copied from the submitted job; job.created
//   frameChunker(frameRange, chunkSize): "1..10,20-25" -> chunks of <= chunkSize frames, each
//     written in "regular" notation, runs of 3+ frames as "a-b", two frames as "a,b"
//   path.join / path.basename / path.dirname / path.stem (Go's filepath semantics)
//   formatTimestampLocal(date) -> "2006-01-02_150405"; print(...); alert(...)
//
// Usage: node flamenco_runtime.js JOB_TYPE.js SUBMITTED_JOB.json
// Prints the authored job (tasks, commands, dependencies by task name) as JSON on stdout.
"use strict";

const fs = require("fs");
const nodePath = require("path");
const vm = require("vm");

function frameRangeExplode(frameRange) {
    const frames = new Set();
    const text = frameRange.split("..").join("-");
    for (const part of text.split(",")) {
        const startEnd = part.split("-");
        const parse = (s) => {
            const t = s.trim();
            if (!/^-?\d+$/.test(t)) throw new Error(`invalid range "${frameRange}": ${part}`);
            return parseInt(t, 10);
        };
        if (startEnd.length === 1) {
            frames.add(parse(startEnd[0]));
        } else if (startEnd.length === 2) {
            const start = parse(startEnd[0]);
            const end = parse(startEnd[1]);
            for (let f = start; f <= end; f++) frames.add(f);
        } else {
            throw new Error(`invalid range "${frameRange}": ${part}`);
        }
    }
    return Array.from(frames).sort((a, b) => a - b);
}

function frameRangeMerge(frames) {
    const ranges = [];
    const appendRange = (from, to) => {
        if (from === to) ranges.push(String(from));
        else if (from + 1 === to) ranges.push(String(from), String(to));
        else ranges.push(`${from}-${to}`);
    };
    let start = frames[0];
    let prev = frames[0];
    for (const frame of frames) {
        if (frame > prev + 1) {
            appendRange(start, prev);
            start = frame;
        }
        prev = frame;
    }
    appendRange(start, frames[frames.length - 1]);
    return ranges.join(",");
}

function frameChunker(frameRange, chunkSize) {
    frameRange = String(frameRange).trim();
    if (frameRange.length === 0) throw new Error(`invalid range "${frameRange}": empty range`);
    if (!(chunkSize >= 1)) throw new Error(`invalid chunk size, must be positive number: ${chunkSize}`);
    const frames = frameRangeExplode(frameRange);
    const chunks = [];
    for (let i = 0; i < frames.length; i += chunkSize) {
        chunks.push(frameRangeMerge(frames.slice(i, i + chunkSize)));
    }
    return chunks;
}

function goClean(p) {
    const cleaned = nodePath.posix.normalize(p);
    return cleaned.length > 1 && cleaned.endsWith("/") ? cleaned.slice(0, -1) : cleaned;
}

const path = {
    join: (...parts) => {
        const kept = parts.filter((p) => p !== "");
        return kept.length ? goClean(kept.join("/")) : "";
    },
    basename: (p) => {
        if (p === "") return ".";
        const trimmed = p.replace(/\/+$/, "");
        return trimmed === "" ? "/" : trimmed.slice(trimmed.lastIndexOf("/") + 1);
    },
    dirname: (p) => goClean(p.slice(0, p.lastIndexOf("/") + 1) || "."),
    stem: (p) => {
        const base = path.basename(p);
        const dot = base.lastIndexOf(".");
        return dot > 0 || (dot === 0 && base.length > 1) ? base.slice(0, dot) : base;
    },
};

function formatTimestampLocal(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}_` +
        `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

class AuthoredTask {
    constructor(name, type) {
        this.name = name;
        this.type = type;
        this.priority = 50;
        this.commands = [];
        this.dependencies = [];
    }
    addCommand(command) { this.commands.push(command); }
    addDependency(task) { this.dependencies.push(task); }
}

const author = {
    Task: (name, taskType) => new AuthoredTask(name, taskType),
    Command: (cmdType, parameters) => ({ type: cmdType, parameters: parameters }),
};

function compile(scriptPath, submittedJob) {
    const job = {
        name: submittedJob.name,
        type: submittedJob.type,
        priority: submittedJob.priority,
        created: new Date(submittedJob.created || "2022-01-03T18:53:00+01:00"),
        settings: { ...(submittedJob.settings || {}) },
        metadata: { ...(submittedJob.metadata || {}) },
        tasks: [],
        addTask(task) { this.tasks.push(task); },
    };
    const logs = [];
    const context = vm.createContext({
        author, path, frameChunker, formatTimestampLocal,
        print: (...args) => logs.push(args.map(String).join(" ")),
        alert: (...args) => logs.push("ALERT " + args.map(String).join(" ")),
    });
    vm.runInContext(fs.readFileSync(scriptPath, "utf8"), context, { filename: scriptPath });
    const jobType = vm.runInContext("JOB_TYPE", context);
    const compileJob = vm.runInContext("compileJob", context);
    if (typeof compileJob !== "function") throw new Error("script does not define compileJob(job)");
    compileJob(job);
    const names = new Set(job.tasks.map((t) => t.name));
    for (const task of job.tasks) {
        for (const dep of task.dependencies) {
            if (!names.has(dep.name)) throw new Error(`task ${task.name} depends on unknown ${dep.name}`);
        }
    }
    return {
        jobType: { label: jobType.label, settings: jobType.settings },
        name: job.name,
        tasks: job.tasks.map((t) => ({
            name: t.name,
            type: t.type,
            priority: t.priority,
            commands: t.commands,
            dependencies: t.dependencies.map((d) => d.name),
        })),
        logs,
    };
}

if (require.main === module) {
    const [scriptPath, jobPath] = process.argv.slice(2);
    const submitted = JSON.parse(fs.readFileSync(jobPath, "utf8"));
    process.stdout.write(JSON.stringify(compile(scriptPath, submitted), null, 2) + "\n");
}

module.exports = { compile, frameChunker, path };
