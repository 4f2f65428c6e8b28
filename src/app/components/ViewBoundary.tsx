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
    return (
      <section className="panel" role="alert" data-testid="view-failed">
        <h2>This view could not be shown</h2>
        <p>
          The {this.props.view} view failed: {error.message}. The memory is not affected, and the other views still work.
        </p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
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
