import { Component, type ReactNode } from 'react';

/**
 * One view's error stays in that view: it says what failed and offers the Draw view, the app and
 * its memory go on (without it, an error in one view unmounted the whole page, and a reload on that
 * view's address showed it blank again). The parent gives it a new `key` per view.
 */
export class ViewBoundary extends Component<{ view: string; onLeave?: () => void; children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    // the app was updated while this page was open (or the network dropped): the view's code is
    // gone, and only a reload brings it; any other error may pass on a second try
    const stale = isStaleCode(error);
    return (
      <section className="panel" role="alert" data-testid="view-failed" data-reason={stale ? 'updated' : undefined}>
        <h2>{stale ? 'This view could not be loaded' : 'This view could not be shown'}</h2>
        <p>
          {stale
            ? `The ${this.props.view} view’s code could not be loaded: Memory Lab was updated since this page opened (the new version replaced it), or the connection dropped. Reload the page to use it: your memory is kept in this browser.`
            : `The ${this.props.view} view failed: ${error.message}. The memory is not affected, and the other views still work.`}
        </p>
        <button type="button" onClick={() => (stale ? location.reload() : this.setState({ error: null }))}>
          {stale ? 'Reload' : 'Try again'}
        </button>{' '}
        {this.props.onLeave && (
          <button type="button" onClick={this.props.onLeave}>
            Go to Draw &amp; predict
          </button>
        )}
      </section>
    );
  }
}

/** A view's code could not be loaded (its file is gone: a new version replaced the old one's files; or the network), as each browser and Vite's preloader say it. */
export function isStaleCode(error: Error): boolean {
  return /dynamically imported module|Importing a module script failed|error loading dynamically imported module|Unable to preload CSS|ChunkLoadError/i.test(`${error.name} ${error.message}`);
}
