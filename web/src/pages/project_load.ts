/** Load a page's project and the viewer's role on it, or show why it cannot be read. */
import { rest } from '../api';
import { enc } from '../dom';
import { viewerLevel } from '../roles';
import { failureNotice } from '../states';
import type { Project } from '../types';

/** The project and the viewer's level on it; null (after showing why in `app`) when it cannot be read. */
export async function loadProject(app: HTMLElement, fullPath: string): Promise<{ project: Project; level: number } | null> {
  try {
    const project = (await rest<Project>(`/api/v4/projects/${enc(fullPath)}`)).body;
    return { project, level: await viewerLevel('projects', project.id) };
  } catch (e) {
    app.appendChild(failureNotice(e, 'project'));
    return null;
  }
}
